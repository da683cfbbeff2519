package e2e

import (
	"context"
	"encoding/json"
	"net/http"
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/accessibility"
	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"sectorhub/shared/bulletin"
)

// TestBulletinUnsubscribeInBrowser opens the bulletin's link pages in headless Chromium, as
// a subscriber does from a mail: the unsubscribe page (its heading and button as the browser's
// accessibility tree presents them, the button reached with the keyboard) unsubscribes no one
// until its button is clicked, and then does; the confirm page of a pending subscriber
// confirms.
func TestBulletinUnsubscribeInBrowser(t *testing.T) {
	bin := chromiumPath()
	if bin == "" {
		t.Skip("headless Chromium not found (neither $CHROMIUM nor chromium or chromium-browser on PATH): install it with `apt-get install -y chromium` (Debian, as root) or `make browser`, or set CHROMIUM to its binary")
	}
	began := time.Now()
	bs := newBulletinStack(t, startStack(t, ""))
	const reader, pending = "browser.reader@example.org", "browser.pending@example.org"
	bs.importList(t, "browser", []listRow{{reader, "Browser Reader", ""}})
	s, ok := bs.subscriber(t, reader)
	if !ok || s.State != bulletin.Subscribed {
		t.Fatalf("the imported subscriber: %v, %s; want subscribed", ok, s.State)
	}
	unsubscribeURL := bs.URL() + bulletin.UnsubscribePath(bulletin.UnsubscribeToken(s))
	if a := bs.subscribe(t, pending, true); a.status != http.StatusAccepted {
		t.Fatalf("POST /bulletin/subscriptions = %v; want 202", a)
	}
	bs.sweepOutbox(t)
	mails := bs.captures(t, pending, "id,subject,destinations,raw")
	if len(mails) != 1 {
		t.Fatalf("%d confirmation mails; want 1", len(mails))
	}
	confirmURL := bs.URL() + bulletin.ConfirmPath(bs.confirmToken(t, mails[0].Raw))

	ctx := startChromium(t, bin)
	browserBegan := time.Now()

	t.Run("the unsubscribe page asks, and its button unsubscribes", func(t *testing.T) {
		p := openPage(t, ctx, unsubscribeURL)
		p.check(t, "Unsubscribe from Light Lunch")
		if !slices.Contains(p.roles["button"], "Unsubscribe") || p.formMethod != "post" {
			t.Fatalf("the unsubscribe page: buttons %q, form method %q; want a button named Unsubscribe in a form that posts", p.roles["button"], p.formMethod)
		}
		if got := bs.state(t, reader); got != bulletin.Subscribed {
			t.Fatalf("after the browser opened the unsubscribe page, the subscriber is %s; want %s (a GET never unsubscribes)", got, bulletin.Subscribed)
		}
		focused := focusByTab(t, ctx)
		if focused != "BUTTON Unsubscribe" {
			t.Errorf("Tab from the top of the page focuses %q; want the button (BUTTON Unsubscribe)", focused)
		}

		resp := run(t, ctx, "click the button", func(ctx context.Context) (int64, error) {
			r, err := chromedp.RunResponse(ctx, chromedp.Click(chromedp.CSS("form button")))
			if err != nil {
				return 0, err
			}
			return r.Status, nil
		})
		if resp != http.StatusOK {
			t.Errorf("the button's POST answered %d; want 200", resp)
		}
		done := readPage(t, ctx)
		done.check(t, "You're unsubscribed")
		if !strings.Contains(strings.ToLower(done.status), "unsubscribed") {
			t.Errorf("the page after the click has status message %q; want one saying unsubscribed", done.status)
		}
		if got := bs.state(t, reader); got != bulletin.Unsubscribed {
			t.Errorf("after the click, the subscriber is %s; want %s", got, bulletin.Unsubscribed)
		}
	})

	t.Run("the confirm page confirms", func(t *testing.T) {
		p := openPage(t, ctx, confirmURL)
		p.check(t, "You're subscribed to Light Lunch")
		if got := bs.state(t, pending); got != bulletin.Subscribed {
			t.Errorf("after the browser opened the confirm link, the subscriber is %s; want %s", got, bulletin.Subscribed)
		}
	})
	t.Logf("the browser test took %v, %v of it in Chromium", time.Since(began).Round(100*time.Millisecond), time.Since(browserBegan).Round(100*time.Millisecond))
}

// chromiumPath is the Chromium binary: $CHROMIUM, or chromium or chromium-browser on PATH;
// "" when there is none.
func chromiumPath() string {
	if p := os.Getenv("CHROMIUM"); p != "" {
		return p
	}
	for _, name := range []string{"chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	return ""
}

// startChromium starts headless Chromium with a fresh profile, for the test's duration, and
// returns the context of its tab.
func startChromium(t *testing.T, bin string) context.Context {
	t.Helper()
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(),
		chromedp.ExecPath(bin),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.UserDataDir(t.TempDir()),
	)
	ctx, cancel := chromedp.NewContext(allocCtx)
	t.Cleanup(func() {
		cancel()
		cancelAlloc()
	})
	began := time.Now()
	// The first run starts the browser, which lives as long as ctx: no timeout on it.
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("start %s: %v", bin, err)
	}
	t.Logf("Chromium started in %v", time.Since(began).Round(time.Millisecond))
	return ctx
}

// browserStep bounds each step in the browser.
const browserStep = 30 * time.Second

// run runs one step in the browser, bounded by browserStep.
func run[T any](t *testing.T, ctx context.Context, what string, f func(context.Context) (T, error)) T {
	t.Helper()
	ctx, cancel := context.WithTimeout(ctx, browserStep)
	defer cancel()
	v, err := f(ctx)
	if err != nil {
		t.Fatalf("Chromium: %s: %v", what, err)
	}
	return v
}

// page is what the tests read of a page as the browser shows it.
type page struct {
	url, lang, title, formMethod, status string   // url is the path: no token in messages
	headings                             []string // h1 elements' text
	// roles are the names of the accessibility tree's nodes by role (button, heading, main,
	// status...), as assistive technology reads them.
	roles map[string][]string
}

// openPage navigates to u, checks the answer is 200, and reads the page.
func openPage(t *testing.T, ctx context.Context, u string) page {
	t.Helper()
	status := run(t, ctx, "open "+u, func(ctx context.Context) (int64, error) {
		r, err := chromedp.RunResponse(ctx, chromedp.Navigate(u))
		if err != nil {
			return 0, err
		}
		return r.Status, nil
	})
	if status != http.StatusOK {
		t.Errorf("Chromium: %s answered %d; want 200", u, status)
	}
	return readPage(t, ctx)
}

// pageFactsJS reads what page needs of the DOM.
const pageFactsJS = `({
	url: location.pathname,
	lang: document.documentElement.lang,
	title: document.title,
	headings: Array.from(document.querySelectorAll("h1"), h => h.innerText.trim()),
	formMethod: document.forms.length ? document.forms[0].method : "",
	status: Array.from(document.querySelectorAll("[role=status]"), e => e.innerText.trim()).join(" "),
})`

// readPage reads the page the tab shows.
func readPage(t *testing.T, ctx context.Context) page {
	t.Helper()
	type facts struct {
		URL        string   `json:"url"`
		Lang       string   `json:"lang"`
		Title      string   `json:"title"`
		Headings   []string `json:"headings"`
		FormMethod string   `json:"formMethod"`
		Status     string   `json:"status"`
	}
	f := run(t, ctx, "read the page", func(ctx context.Context) (facts, error) {
		return chromedp.Run(ctx, chromedp.Evaluate[facts](pageFactsJS))
	})
	nodes := run(t, ctx, "read the accessibility tree", func(ctx context.Context) ([]*accessibility.Node, error) {
		return chromedp.Run(ctx, chromedp.Action[[]*accessibility.Node](func(ctx context.Context, tg *chromedp.Target) ([]*accessibility.Node, error) {
			res, err := cdp.Call(ctx, tg, accessibility.GetFullAXTree, accessibility.GetFullAXTreeParams{})
			return res.Nodes, err
		}))
	})
	p := page{url: f.URL, lang: f.Lang, title: f.Title, headings: f.Headings, formMethod: f.FormMethod, status: f.Status, roles: map[string][]string{}}
	for _, n := range nodes {
		if n.Ignored || n.Role == nil {
			continue
		}
		role, name := axString(n.Role), ""
		if n.Name != nil {
			name = axString(n.Name)
		}
		p.roles[role] = append(p.roles[role], strings.ReplaceAll(name, "’", "'"))
	}
	return p
}

// axString is an accessibility value as a string ("" if it is not one).
func axString(v *accessibility.Value) string {
	var s string
	_ = json.Unmarshal(v.Value, &s)
	return s
}

// check checks that a page is accessible as the bulletin's pages should be: a language, a
// title naming the page, one h1 with heading, and a main landmark.
func (p page) check(t *testing.T, heading string) {
	t.Helper()
	h := strings.ReplaceAll(strings.Join(p.headings, "|"), "’", "'")
	if p.lang == "" || !strings.Contains(strings.ReplaceAll(p.title, "’", "'"), heading) || h != heading {
		t.Errorf("%s: lang %q, title %q, h1 %q; want a language, and %q as the one h1 and in the title", p.url, p.lang, p.title, p.headings, heading)
	}
	if !slices.Contains(p.roles["heading"], heading) || len(p.roles["main"]) != 1 {
		t.Errorf("%s: accessibility tree: headings %q, %d main landmarks; want the heading %q and one main", p.url, p.roles["heading"], len(p.roles["main"]), heading)
	}
}

// focusByTab presses Tab from the top of the page until a button or a link has the focus, at
// most five times, and returns its tag and text ("" if none did).
func focusByTab(t *testing.T, ctx context.Context) string {
	t.Helper()
	for range 5 {
		focused := run(t, ctx, "press Tab", func(ctx context.Context) (string, error) {
			if err := chromedp.Do(ctx, chromedp.KeyEvent(kb.Tab)); err != nil {
				return "", err
			}
			return chromedp.Run(ctx, chromedp.Evaluate[string](`document.activeElement === document.body ? "" : document.activeElement.tagName + " " + document.activeElement.innerText.trim()`))
		})
		if focused != "" {
			return focused
		}
	}
	return ""
}
