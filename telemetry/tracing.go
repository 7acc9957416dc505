package telemetry

import (
	"context"
	"fmt"
	"net/url"
	"strings"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
)

// Tracing is where traces go: an OTLP/HTTP collector.
type Tracing struct {
	// Endpoint is the collector's base URL (spans go to /v1/traces unless
	// it names a path).
	Endpoint string
	// Headers go with every export (credentials, resolved).
	Headers     map[string]string
	SampleRatio float64
	ServiceName string
	Version     string
}

// StartTracing returns the tracer provider that exports to t, and the
// function that flushes and stops it.
func StartTracing(ctx context.Context, t Tracing) (trace.TracerProvider, func(context.Context) error, error) {
	u, err := url.Parse(t.Endpoint)
	if err != nil {
		return nil, nil, fmt.Errorf("tracing.endpoint: %w", err)
	}
	if strings.Trim(u.Path, "/") == "" {
		u.Path = "/v1/traces"
	}
	exp, err := otlptracehttp.New(ctx, otlptracehttp.WithEndpointURL(u.String()), otlptracehttp.WithHeaders(t.Headers))
	if err != nil {
		return nil, nil, fmt.Errorf("tracing: %w", err)
	}
	tp := sdktrace.NewTracerProvider(
		sdktrace.WithBatcher(exp),
		sdktrace.WithSampler(sdktrace.ParentBased(sdktrace.TraceIDRatioBased(t.SampleRatio))),
		sdktrace.WithResource(resource.NewSchemaless(attribute.String("service.name", t.ServiceName),
			attribute.String("service.version", t.Version))),
	)
	return tp, tp.Shutdown, nil
}
