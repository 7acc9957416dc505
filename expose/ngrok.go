package expose

import (
	"context"
	"fmt"
	"log/slog"
	"net"

	"golang.ngrok.com/ngrok/v2"
)

// Ngrok is an ngrok endpoint opened in process with ngrok's Go SDK: a
// net.Listener whose connections come from ngrok's edge, served by the
// same http.Server as the local listener.
type Ngrok struct {
	net.Listener
	// URL is the endpoint's public URL.
	URL   string
	agent ngrok.Agent
}

// ListenNgrok connects to ngrok with authtoken and opens an https
// endpoint, on domain when one is reserved (else a random one).
func ListenNgrok(ctx context.Context, authtoken, domain string, log *slog.Logger) (*Ngrok, error) {
	agent, err := ngrok.NewAgent(ngrok.WithAuthtoken(authtoken), ngrok.WithLogger(log), ngrok.WithClientInfo("drawbridge", Version))
	if err != nil {
		return nil, fmt.Errorf("ngrok: %w", err)
	}
	var opts []ngrok.EndpointOption
	if domain != "" {
		opts = append(opts, ngrok.WithURL("https://"+domain))
	}
	ln, err := agent.Listen(ctx, opts...)
	if err != nil {
		_ = agent.Disconnect()
		return nil, fmt.Errorf("ngrok: open an endpoint (check public.api_key, the authtoken, and public.ngrok_domain): %w", err)
	}
	return &Ngrok{Listener: ln, URL: ln.URL().String(), agent: agent}, nil
}

// Close closes the endpoint and the session.
func (n *Ngrok) Close() error {
	err := n.Listener.Close()
	_ = n.agent.Disconnect()
	return err
}
