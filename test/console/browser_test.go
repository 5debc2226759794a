package console

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// browser is a headless chromium driven over the DevTools protocol.
type browser struct {
	t   *testing.T
	ctx context.Context
}

// newBrowser starts Debian's chromium with a fresh profile. The flags keep
// it from talking to anything but loopback: no background networking,
// component updates, sync or QUIC probes.
func newBrowser(t *testing.T) *browser {
	t.Helper()
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(chromium),
		chromedp.Flag("headless", true),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.Flag("disable-quic", true),
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-default-apps", true),
		chromedp.Flag("disable-extensions", true),
		chromedp.Flag("no-proxy-server", true),
		chromedp.Flag("mute-audio", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1280, 900),
	}
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(allocCtx)
	t.Cleanup(func() { cancel(); cancelAlloc() })
	// The first Run starts the browser; it must not carry a timeout, which
	// would end the browser with it.
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	b := &browser{t: t, ctx: ctx}
	b.do("set the viewport", chromedp.EmulateViewport(1280, 900))
	return b
}

// do runs actions with a timeout and fails the test on an error.
func (b *browser) do(what string, actions ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 30*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		b.t.Fatalf("%s: %v\npage:\n%s", what, err, b.pageText())
	}
}

// navigate loads url and waits for its load event.
func (b *browser) navigate(url string) {
	b.t.Helper()
	b.do("navigate to "+url, chromedp.Navigate(url))
}

// eval evaluates a JavaScript expression, awaiting it if it is a promise.
func eval[T any](b *browser, js string) T {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 30*time.Second)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](js, chromedp.EvalAwaitPromise))
	if err != nil {
		b.t.Fatalf("evaluate %s: %v\npage:\n%s", js, err, b.pageText())
	}
	return v
}

// waitFor polls a JavaScript boolean expression until it holds.
func (b *browser) waitFor(what, js string, timeout time.Duration) {
	b.t.Helper()
	if !b.holds(js, timeout) {
		b.t.Fatalf("waiting %s for %s (%s)\npage at %s:\n%s", timeout, what, js, b.location(), b.pageText())
	}
}

// holds polls a JavaScript boolean expression until it holds or timeout
// passes, and reports which; waitFor fails the test on false, other
// callers may rightly go on either way.
func (b *browser) holds(js string, timeout time.Duration) bool {
	deadline := time.Now().Add(timeout)
	for {
		ctx, cancel := context.WithTimeout(b.ctx, 5*time.Second)
		ok, err := chromedp.Run(ctx, chromedp.Evaluate[bool]("(function(){try{return !!("+js+")}catch(e){return false}})()"))
		cancel()
		if err == nil && ok {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func (b *browser) location() string {
	ctx, cancel := context.WithTimeout(b.ctx, 5*time.Second)
	defer cancel()
	s, _ := chromedp.Run(ctx, chromedp.Location())
	return s
}

func (b *browser) pageText() string {
	ctx, cancel := context.WithTimeout(b.ctx, 5*time.Second)
	defer cancel()
	s, err := chromedp.Run(ctx, chromedp.Evaluate[string]("document.body ? document.body.innerText : ''"))
	if err != nil {
		return fmt.Sprintf("(no page text: %v)", err)
	}
	if len(s) > 4000 {
		s = s[:4000] + "…"
	}
	return s
}

// text returns the whitespace-collapsed text of the first element matching
// a CSS selector, or "".
func (b *browser) text(selector string) string {
	b.t.Helper()
	return eval[string](b, fmt.Sprintf(`(function(){var e=document.querySelector(%q);return e?e.textContent.trim().replace(/\s+/g," "):""})()`, selector))
}

// click clicks the first element matching a CSS selector. It clicks in
// one script evaluation, because a live update may replace the element
// between a lookup and a protocol-level click.
func (b *browser) click(selector string) {
	b.t.Helper()
	if !eval[bool](b, fmt.Sprintf(`(function(){var e=document.querySelector(%q);if(!e||e.disabled)return false;e.focus();e.click();return true})()`, selector)) {
		b.t.Fatalf("click %s: no such enabled element\npage at %s:\n%s", selector, b.location(), b.pageText())
	}
}

// fill replaces an input's or select's value.
func (b *browser) fill(selector, value string) {
	b.t.Helper()
	b.do("fill "+selector, chromedp.SetValue(chromedp.CSS(selector), value))
}

// typeText types into an input, firing the input events a person's typing
// would.
func (b *browser) typeText(selector, value string) {
	b.t.Helper()
	b.do("type into "+selector, chromedp.SendKeys(chromedp.CSS(selector), value))
}

// updateScreenshots is the variable that lets the browser test rewrite the
// README's screenshots.
const updateScreenshots = "SLIPWAY_UPDATE_SCREENSHOTS"

// screenshotDir is where screenshots go: docs/console, which the README
// shows, only when updateScreenshots is 1, so that a test run leaves the
// tracked images alone; otherwise a directory under the system's
// temporary one, to look at after a run.
func screenshotDir() string {
	if os.Getenv(updateScreenshots) == "1" {
		return filepath.Join(repoRoot, "docs", "console")
	}
	return filepath.Join(os.TempDir(), "slipway-console-screenshots")
}

// screenshot saves the whole page as NAME.png in screenshotDir.
func (b *browser) screenshot(name string) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 30*time.Second)
	defer cancel()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		b.t.Fatalf("screenshot %s: %v", name, err)
	}
	dir := screenshotDir()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		b.t.Fatal(err)
	}
	file := filepath.Join(dir, name+".png")
	if err := os.WriteFile(file, png, 0o644); err != nil {
		b.t.Fatal(err)
	}
	b.t.Logf("screenshot %s", file)
}

// quote makes a JavaScript string literal.
func quote(s string) string { return fmt.Sprintf("%q", s) }

func contains(haystack, needle string) bool { return strings.Contains(haystack, needle) }
