package console

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"time"

	"github.com/slipwayhq/slipway/internal/applog"
)

// Live updates: the change feed tells pages that the store changed, and
// the page's script fetches itself again and swaps the regions marked
// data-live. The server renders every byte, so there is one rendering path,
// and a browser without the feed still works with a reload.

const (
	// coalesce lets a burst of writes (an operation touches several rows)
	// become one event.
	coalesce = 150 * time.Millisecond
	// heartbeat keeps idle streams open through proxies and lets the
	// server notice browsers that went away.
	heartbeat = 20 * time.Second
)

// streamContext ends when the request ends or the console closes.
func (c *Console) streamContext(r *http.Request) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancel(r.Context())
	go func() {
		select {
		case <-c.done:
			cancel()
		case <-ctx.Done():
		}
	}()
	return ctx, cancel
}

func startStream(w http.ResponseWriter) (http.Flusher, bool) {
	f, ok := w.(http.Flusher)
	if !ok {
		http.Error(w, "streaming unsupported", http.StatusInternalServerError)
		return nil, false
	}
	// A stream outlives the listener's ReadTimeout, which is for reading
	// requests.
	http.NewResponseController(w).SetReadDeadline(time.Time{})
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	// Tell EventSource how long to wait before reconnecting.
	fmt.Fprint(w, "retry: 1000\n\n")
	f.Flush()
	return f, true
}

// Bounds of the feed's poll parameter.
const (
	minPoll = time.Second
	maxPoll = time.Minute
)

// events serves the change feed: an event "change" after each burst of
// store writes, and, with ?poll=DURATION (1s to 1m), every DURATION too.
func (c *Console) events(w http.ResponseWriter, r *http.Request) {
	var poll <-chan time.Time
	if v := r.URL.Query().Get("poll"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d < minPoll || d > maxPoll {
			http.Error(w, fmt.Sprintf("poll: want a duration from %s to %s", minPoll, maxPoll), http.StatusBadRequest)
			return
		}
		t := time.NewTicker(d)
		defer t.Stop()
		poll = t.C
	}
	ctx, cancel := c.streamContext(r)
	defer cancel()
	flusher, ok := startStream(w)
	if !ok {
		return
	}
	tick := time.NewTicker(heartbeat)
	defer tick.Stop()
	changed := c.store.Changed()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
			fmt.Fprint(w, ": heartbeat\n\n")
		case <-poll:
			fmt.Fprint(w, "event: change\ndata: {}\n\n")
		case <-changed:
			select {
			case <-ctx.Done():
				return
			case <-time.After(coalesce):
			}
			// Take the next channel before telling the page, so a write
			// that lands while the page refetches itself still causes one
			// more event.
			changed = c.store.Changed()
			fmt.Fprint(w, "event: change\ndata: {}\n\n")
		}
		flusher.Flush()
	}
}

// logLine is one log entry as the Logs tab's script receives it.
type logLine struct {
	Time   string `json:"time"`
	Source string `json:"source"`
	Stream string `json:"stream"`
	Text   string `json:"text"`
	// Parts, for a line with ANSI escape sequences, are its styled runs;
	// the script shows them instead of Text.
	Parts []segment `json:"parts,omitempty"`
}

// logStream serves a service's logs as server-sent events: what is logged
// so far, then new lines as they come (live tail).
func (c *Console) logStream(w http.ResponseWriter, r *http.Request) {
	svc, ok, err := c.loadService(r.Context(), r.PathValue("id"))
	if err != nil || !ok {
		http.NotFound(w, r)
		return
	}
	ctx, cancel := c.streamContext(r)
	defer cancel()
	flusher, ok := startStream(w)
	if !ok {
		return
	}
	// A reconnecting EventSource would replay everything; the script
	// clears its view on "reset" so lines are never doubled.
	fmt.Fprint(w, "event: reset\ndata: {}\n\n")
	flusher.Flush()
	err = c.logs.Logs(ctx, svc.ARN, r.URL.Query().Get("operation"), true, func(e applog.Entry) {
		b, _ := json.Marshal(logLine{Time: e.Time.UTC().Format(time.RFC3339Nano), Source: e.Source, Stream: e.Stream,
			Text: applog.Printable(e.Text), Parts: ansiSegments(e.Text)})
		fmt.Fprintf(w, "data: %s\n\n", b)
		flusher.Flush()
	})
	if err != nil && ctx.Err() == nil {
		_, msg := c.errorMessage(err)
		b, _ := json.Marshal(map[string]string{"message": msg})
		fmt.Fprintf(w, "event: failure\ndata: %s\n\n", b)
		flusher.Flush()
	}
}
