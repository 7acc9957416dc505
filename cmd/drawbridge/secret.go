package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"golang.org/x/term"

	"github.com/drawbridge-mcp/drawbridge/config"
	"github.com/drawbridge-mcp/drawbridge/proxy"
	"github.com/drawbridge-mcp/drawbridge/secrets"
)

const secretUsage = "secret set NAME [--client CLIENT] (value on stdin or at the prompt) | secret list | " +
	"secret rm NAME [--client CLIENT] | secret rotate-key"

// runSecret manages the encrypted credentials in secrets.db. Values never
// come from the command line (it is visible to other users and kept in
// shell history) and are never printed.
func runSecret(ctx context.Context, e env, args []string) error {
	f := newFlags("secret", e)
	client := f.String("client", "", "scope the secret to this client token `name` (set, rm)")
	asJSON := f.Bool("json", false, "list: print JSON")
	pos, err := f.parse(args)
	if err != nil {
		return err
	}
	if len(pos) == 0 {
		return fmt.Errorf("%w: %s", errUsage, secretUsage)
	}
	cfg, err := f.load()
	if err != nil {
		return err
	}
	store, err := secrets.Open(ctx, cfg.DataDir)
	if err != nil {
		return err
	}
	defer store.Close()
	switch {
	case (pos[0] == "set" || pos[0] == "rm") && len(pos) == 2 && pos[1] == ledgerKeyName:
		return errLedgerKeyNotUserSecret(pos[0])
	case pos[0] == "set" && len(pos) == 2:
		value, err := readValue(e, pos[1])
		if err != nil {
			return err
		}
		if err := store.Set(ctx, pos[1], *client, value); err != nil {
			return err
		}
		fmt.Fprintf(e.stderr, "stored secret %s%s (a running proxy picks it up within a second)\n", pos[1], forClient(*client))
		if *client != "" {
			if names, err := tokenNames(ctx, cfg); err == nil && !slices.Contains(names, *client) {
				fmt.Fprintf(e.stderr, "warning: no client token is named %q yet; the secret is used once one is (drawbridge token create %s)\n", *client, *client)
			}
		}
		return nil
	case pos[0] == "list" && len(pos) == 1:
		return listSecrets(ctx, e, cfg, store, *asJSON)
	case pos[0] == "rm" && len(pos) == 2:
		if err := store.Delete(ctx, pos[1], *client); err != nil {
			return err
		}
		fmt.Fprintf(e.stderr, "removed secret %s%s\n", pos[1], forClient(*client))
		return nil
	case pos[0] == "rotate-key" && len(pos) == 1:
		key, err := store.RotateKey(ctx)
		if err != nil {
			return err
		}
		if key.Path == "" {
			fmt.Fprintf(e.stderr, "re-encrypted every secret under a new key; set %s to the line on stdout before the next start\n", secrets.KeyEnv)
			fmt.Fprintln(e.stdout, key.Encoded().Reveal())
			return nil
		}
		fmt.Fprintf(e.stderr, "re-encrypted every secret under a new key, now in %s\n", key.Path)
		return nil
	}
	return fmt.Errorf("%w: %s", errUsage, secretUsage)
}

func forClient(c string) string {
	if c == "" {
		return ""
	}
	return " for client " + c
}

// readValue reads a secret from stdin: at an echo-less prompt on a
// terminal, else the whole input less one trailing newline.
func readValue(e env, name string) (secrets.Secret, error) {
	if f, ok := e.stdin.(*os.File); ok && isTerminal(f) {
		fmt.Fprintf(e.stderr, "value for %s (not echoed): ", name)
		b, err := term.ReadPassword(int(f.Fd()))
		fmt.Fprintln(e.stderr)
		if err != nil {
			return secrets.Secret{}, fmt.Errorf("read value: %w", err)
		}
		return secrets.New(string(b)), nil
	}
	b, err := io.ReadAll(io.LimitReader(e.stdin, 1<<20))
	if err != nil {
		return secrets.Secret{}, fmt.Errorf("read value from stdin: %w", err)
	}
	v := strings.TrimSuffix(strings.TrimSuffix(string(b), "\n"), "\r")
	if v == "" {
		return secrets.Secret{}, fmt.Errorf("no value on stdin (echo -n \"$VALUE\" | drawbridge secret set %s)", name)
	}
	return secrets.New(v), nil
}

// secretEntry is one row of secret list: never a value.
type secretEntry struct {
	secrets.Info
	UsedBy []string `json:"used_by"`
}

func listSecrets(ctx context.Context, e env, cfg *config.Config, store *secrets.Store, asJSON bool) error {
	infos, err := store.List(ctx)
	if err != nil {
		return err
	}
	infos = slices.DeleteFunc(infos, func(i secrets.Info) bool { return i.Name == ledgerKeyName && i.Client == "" })
	users := map[string][]string{}
	for _, r := range cfg.SecretRefs() {
		server := strings.SplitN(r.Path, ".", 3)[1]
		if !slices.Contains(users[r.Name], server) {
			users[r.Name] = append(users[r.Name], server)
		}
	}
	if asJSON {
		out := []secretEntry{}
		for _, i := range infos {
			out = append(out, secretEntry{Info: i, UsedBy: append([]string{}, users[i.Name]...)})
		}
		return printJSON(e.stdout, out)
	}
	t := newTable(e.stdout, "NAME", "CLIENT", "CREATED", "UPDATED", "USED BY")
	for _, i := range infos {
		scope := i.Client
		if scope == "" {
			scope = "(all)"
		}
		t.row(i.Name, scope, i.CreatedAt.Format(time.RFC3339), i.UpdatedAt.Format(time.RFC3339), strings.Join(users[i.Name], ","))
	}
	return t.flush()
}

// openVault opens the secrets a config's proxy serves with. Without a
// secrets.db it makes one (and a master key) only when create is set;
// otherwise it returns nil, nil.
func openVault(ctx context.Context, cfg *config.Config, log *slog.Logger, create bool) (*secrets.Store, *secrets.Vault, error) {
	if !create {
		if _, err := os.Stat(filepath.Join(cfg.DataDir, "secrets.db")); errors.Is(err, fs.ErrNotExist) {
			return nil, nil, nil
		}
	}
	store, err := secrets.Open(ctx, cfg.DataDir)
	if err != nil {
		return nil, nil, err
	}
	vault, err := secrets.NewVault(ctx, store, log)
	if err != nil {
		store.Close()
		return nil, nil, err
	}
	return store, vault, nil
}

// readVault opens the stored secrets for a command that only reads them
// (policy eval, responses-config): without a secrets.db it returns a nil
// vault, which the proxy treats as empty. close is never nil.
func readVault(ctx context.Context, cfg *config.Config, log *slog.Logger) (v proxy.Vault, close func(), err error) {
	store, vault, err := openVault(ctx, cfg, log, false)
	if err != nil || store == nil {
		return nil, func() {}, err
	}
	return vault, func() { store.Close() }, nil
}

// missingSecrets checks every ${secret:NAME} reference: each must be
// stored, in some scope.
func missingSecrets(cfg *config.Config, vault *secrets.Vault) error {
	var errs []error
	for _, r := range cfg.SecretRefs() {
		if vault == nil || !vault.Has(r.Name) {
			errs = append(errs, fmt.Errorf("%s: ${secret:%s}: no such secret (drawbridge secret set %s%s)", r.Path, r.Name, r.Name, configFlag(cfg)))
		}
	}
	return errors.Join(errs...)
}
