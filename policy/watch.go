package policy

import (
	"context"
	"fmt"
	"io/fs"
	"path/filepath"
	"time"

	"github.com/fsnotify/fsnotify"
)

// debounce gathers an editor's burst of writes into one reload.
const debounce = 150 * time.Millisecond

// Watch reloads the policy whenever a file under Dir changes, until ctx
// ends. A reload that fails (does not compile, tests fail) is logged and
// kept for Status (logged first); the previous policy goes on serving. The shipped policy
// is embedded and never changes: Watch returns at once for it.
func (e *Engine) Watch(ctx context.Context) error {
	if e.opts.Dir == "" {
		return nil
	}
	w, err := fsnotify.NewWatcher()
	if err != nil {
		return fmt.Errorf("watch policy dir: %w", err)
	}
	err = filepath.WalkDir(e.opts.Dir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && d.IsDir() {
			err = w.Add(p)
		}
		return err
	})
	if err != nil {
		w.Close()
		return fmt.Errorf("watch policy dir: %w", err)
	}
	go e.watch(ctx, w)
	return nil
}

func (e *Engine) watch(ctx context.Context, w *fsnotify.Watcher) {
	defer w.Close()
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case ev, ok := <-w.Events:
			if !ok {
				return
			}
			if ev.Has(fsnotify.Create) {
				_ = w.Add(ev.Name) // a new subfolder; fails harmlessly for files
			}
			timer.Reset(debounce)
		case err, ok := <-w.Errors:
			if !ok {
				return
			}
			e.log.Warn("policy watch", "err", err)
		case <-timer.C:
			_ = e.Reload(ctx) // logs its own outcome, before publishing it
		}
	}
}
