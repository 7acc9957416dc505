package secrets

import (
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// KeyEnv names the environment variable that may hold the master key:
// 32 bytes, base64.
const KeyEnv = "DRAWBRIDGE_MASTER_KEY"

// KeyFile is the master key's file under data_dir, used when KeyEnv is not
// set; created 0600 on first use.
const KeyFile = "master.key"

// Key is a 32-byte master key and where it came from.
type Key struct {
	bytes []byte
	// Path is the key file, "" when the key came from KeyEnv.
	Path string
}

// LoadKey returns the master key: KeyEnv if set, else data_dir/master.key,
// created on first use. A key file readable by group or others is refused.
func LoadKey(dataDir string) (Key, error) { return loadKey(dataDir, true) }

// loadKey is LoadKey; it creates a missing key file only when create.
func loadKey(dataDir string, create bool) (Key, error) {
	if v, ok := os.LookupEnv(KeyEnv); ok {
		b, err := decodeKey(v)
		if err != nil {
			return Key{}, fmt.Errorf("%s: %w", KeyEnv, err)
		}
		return Key{bytes: b}, nil
	}
	path := filepath.Join(dataDir, KeyFile)
	st, err := os.Stat(path)
	if errors.Is(err, fs.ErrNotExist) && create {
		return createKey(path)
	}
	if err != nil {
		return Key{}, fmt.Errorf("master key: %w", err)
	}
	if st.Mode().Perm()&0o077 != 0 {
		return Key{}, fmt.Errorf("master key %s is readable by group or others (mode %04o); fix it with: chmod 600 %s",
			path, st.Mode().Perm(), path)
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		return Key{}, fmt.Errorf("master key: %w", err)
	}
	b, err := decodeKey(string(raw))
	if err != nil {
		return Key{}, fmt.Errorf("master key %s: %w", path, err)
	}
	return Key{bytes: b, Path: path}, nil
}

func decodeKey(s string) ([]byte, error) {
	b, err := base64.StdEncoding.DecodeString(strings.TrimSpace(s))
	if err != nil || len(b) != 32 {
		return nil, errors.New("must be 32 bytes, base64-encoded (generate one with: head -c 32 /dev/urandom | base64)")
	}
	return b, nil
}

// NewKey makes a random key.
func NewKey() Key {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	return Key{bytes: b}
}

// Encoded is the key as KeyEnv and the key file hold it.
func (k Key) Encoded() Secret { return New(base64.StdEncoding.EncodeToString(k.bytes)) }

func createKey(path string) (Key, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return Key{}, fmt.Errorf("master key: %w", err)
	}
	k := NewKey()
	k.Path = path
	if err := writeKeyFile(path, k); err != nil {
		return Key{}, err
	}
	return k, nil
}

// writeKeyFile writes a key file 0600, whole or not at all.
func writeKeyFile(path string, k Key) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return fmt.Errorf("write master key: %w", err)
	}
	_, err = f.WriteString(k.Encoded().Reveal() + "\n")
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(path)
		return fmt.Errorf("write master key: %w", err)
	}
	return nil
}

// pendingKey is where rotate-key puts the new key before the database is
// re-encrypted. Open settles an interrupted rotation: if the database opens
// with the pending key, the rotation committed and the pending key replaces
// the old one; otherwise it is dropped.
func pendingKey(path string) string { return path + ".new" }

// loadPending reads a pending key, if there is one.
func loadPending(path string) (Key, bool) {
	raw, err := os.ReadFile(pendingKey(path))
	if err != nil {
		return Key{}, false
	}
	b, err := decodeKey(string(raw))
	if err != nil {
		return Key{}, false
	}
	return Key{bytes: b, Path: path}, true
}
