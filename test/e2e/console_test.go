package e2e

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/apigateway"
	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"github.com/tollgate/tollgate/test/harness"
)

// chromium finds Debian's chromium; without it the browser tests skip, except under CI, where
// .ci/run installs it.
func chromium(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("chromium is not installed (apt-get install -y chromium)")
	}
	t.Skip("chromium is not installed (apt-get install -y chromium)")
	return ""
}

// artifactDir is where browser tests leave their screenshots: $TOLLGATE_TEST_ARTIFACTS, else a
// directory under the system's temporary directory (logged).
func artifactDir(t *testing.T) string {
	dir := os.Getenv("TOLLGATE_TEST_ARTIFACTS")
	if dir == "" {
		dir = filepath.Join(os.TempDir(), "tollgate-test-artifacts")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshots in %s", dir)
	return dir
}

// browser starts headless chromium for the test.
func browser(t *testing.T, width int) context.Context {
	t.Helper()
	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(chromium(t)), chromedp.NoSandbox,
		chromedp.WindowSize(width, 900), chromedp.Flag("disable-gpu", true))
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	bctx, cancel := chromedp.NewContext(actx)
	t.Cleanup(func() { cancel(); cancelAlloc() })
	ctx, cancelT := context.WithTimeout(bctx, 2*time.Minute)
	t.Cleanup(cancelT)
	return ctx
}

func shot(t *testing.T, ctx context.Context, dir, name string) {
	t.Helper()
	// A page that has just replaced another may not be laid out yet ("0 width"): wait until it
	// has loaded, and try again briefly.
	waitJS(t, ctx, `document.readyState === "complete" && document.documentElement.clientWidth > 0`)
	var png []byte
	var err error
	for try := 0; try < 20; try++ {
		if png, err = chromedp.Run(ctx, chromedp.FullScreenshot(100)); err == nil {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, name+".png"), png, 0o644); err != nil {
		t.Fatal(err)
	}
}

// do runs void browser actions, failing the test on an error.
func do(t *testing.T, ctx context.Context, steps ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	if err := chromedp.Do(ctx, steps...); err != nil {
		t.Fatal(err)
	}
}

// text is the text of the first element a CSS selector matches.
func text(t *testing.T, ctx context.Context, sel string) string {
	t.Helper()
	v, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(sel)))
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// waitJS waits up to 10 s for a JavaScript condition on the page (a form's answer has loaded).
func waitJS(t *testing.T, ctx context.Context, cond string) {
	t.Helper()
	var err error
	for end := time.Now().Add(10 * time.Second); time.Now().Before(end); time.Sleep(50 * time.Millisecond) {
		var ok bool
		// A navigation under way makes an evaluation fail: try again on the new page.
		if ok, err = chromedp.Run(ctx, chromedp.Evaluate[bool](cond)); err == nil && ok {
			return
		}
	}
	t.Fatalf("waiting for %s: %v (page title %q)", cond, err, text(t, ctx, "h1"))
}

// signIn signs in with the default test credentials.
func signIn(t *testing.T, ctx context.Context, base string) {
	t.Helper()
	do(t, ctx,
		chromedp.Navigate(base),
		chromedp.WaitVisible(chromedp.CSS("#access_key_id")),
		chromedp.SendKeys(chromedp.CSS("#access_key_id"), "test"),
		chromedp.SendKeys(chromedp.CSS("#secret_access_key"), "test"),
		chromedp.Submit(chromedp.CSS("#secret_access_key")),
		chromedp.WaitVisible(chromedp.CSS("#overview-chart")),
	)
}

// TestConsoleBrowser drives the console in headless Chromium: sign in, create a usage plan,
// create a key in it, send traffic and see the key's usage chart count it within 2 s, disable the
// key and see the data plane refuse it, rotate a key, sign out and find the old session cookie
// dead. It saves a screenshot of each page.
func TestConsoleBrowser(t *testing.T) {
	s := &server{harness.Start(t, harness.Options{Args: []string{"--console"}})}
	c := s.client("us-east-1")
	g := buildGatewayAPI(t, c, "dev")
	ctx := browser(t, 1280)
	dir := artifactDir(t)
	base := s.Endpoint + "/_tollgate/console/"

	do(t, ctx, chromedp.Navigate(base), chromedp.WaitVisible(chromedp.CSS("#access_key_id")))
	shot(t, ctx, dir, "console-signin")
	signIn(t, ctx, base)
	if h := text(t, ctx, "h1"); h != "Overview" {
		t.Fatalf("after sign-in: %q", h)
	}

	// Create a plan on the stage.
	do(t, ctx,
		chromedp.Navigate(base+"plans"),
		chromedp.WaitVisible(chromedp.CSS("#name")),
		chromedp.SendKeys(chromedp.CSS("#name"), "gold"),
		chromedp.SendKeys(chromedp.CSS("#rate"), "100"),
		chromedp.SendKeys(chromedp.CSS("#burst"), "200"),
		chromedp.SendKeys(chromedp.CSS("#quota"), "1000"),
		chromedp.SendKeys(chromedp.CSS("#stage"), g.ID+":dev"),
		chromedp.Submit(chromedp.CSS("#name")),
		chromedp.WaitVisible(chromedp.CSS(".flash")),
	)
	if h := text(t, ctx, "h1"); h != "Usage plan gold" {
		t.Fatalf("after creating the plan: %q", h)
	}
	plans, err := c.GetUsagePlans(ctx, &apigateway.GetUsagePlansInput{})
	if err != nil || len(plans.Items) != 1 || plans.Items[0].Quota == nil || plans.Items[0].Quota.Limit != 1000 {
		t.Fatalf("plans after the console created one: %+v %v", plans, err)
	}
	planID := aws.ToString(plans.Items[0].Id)

	// Create a key in it.
	do(t, ctx,
		chromedp.Navigate(base+"keys"),
		chromedp.WaitVisible(chromedp.CSS("#kname")),
		chromedp.SendKeys(chromedp.CSS("#kname"), "alice"),
		chromedp.SendKeys(chromedp.CSS("#customer_id"), "cust-42"),
		chromedp.SetValue(chromedp.CSS("#plan"), planID),
		chromedp.Submit(chromedp.CSS("#kname")),
		chromedp.WaitVisible(chromedp.CSS("#key-id")),
	)
	keyID := text(t, ctx, "#key-id")
	k, err := c.GetApiKey(ctx, &apigateway.GetApiKeyInput{ApiKey: &keyID, IncludeValue: aws.Bool(true)})
	if err != nil || aws.ToString(k.CustomerId) != "cust-42" || !k.Enabled {
		t.Fatalf("the key the console created: %+v %v", k, err)
	}
	key := aws.ToString(k.Value)

	// Traffic: the chart's count for today moves within 2 s.
	eventually(t, 10*time.Second, "the new key admitted", func() bool {
		st, _, _ := call(t, s, g, "GET", "/mock", key)
		return st == 200
	})
	for i := 0; i < 4; i++ {
		if st, _, body := call(t, s, g, "GET", "/mock", key); st != 200 {
			t.Fatalf("call %d: %d %s", i, st, body)
		}
	}
	start := time.Now()
	if _, err := chromedp.Run(ctx, chromedp.Poll[bool](`document.getElementById("used-today").textContent === "5"`, chromedp.WithPollingTimeout(2*time.Second))); err != nil {
		t.Fatalf("the usage chart did not show 5 requests within 2 s (it shows %q): %v", text(t, ctx, "#used-today"), err)
	}
	t.Logf("the usage chart showed the traffic %v after it was sent", time.Since(start).Round(time.Millisecond))
	shot(t, ctx, dir, "console-key")

	// Reveal its value: shown once, recorded in the audit log without the value.
	do(t, ctx, chromedp.Click(chromedp.Search(`//button[starts-with(text(),"Reveal")]`)))
	waitJS(t, ctx, `document.getElementById("key-value") !== null`)
	if v := text(t, ctx, "#key-value"); v != key {
		t.Fatalf("revealed value %q, want the key's", v)
	}
	if log := s.Log(); !strings.Contains(log, "operation=ConsoleRevealApiKey") || strings.Contains(log, key) {
		t.Fatalf("the reveal's audit record (or the value in the log):\n%s", log)
	}

	// Disable it: the data plane refuses it.
	do(t, ctx, chromedp.Click(chromedp.Search(`//button[text()="Disable"]`)))
	waitJS(t, ctx, `document.getElementById("key-state").textContent === "disabled"`)
	eventually(t, 10*time.Second, "the disabled key refused", func() bool {
		st, _, _ := call(t, s, g, "GET", "/mock", key)
		return st == 403
	})

	// Rotate: a replacement in the same plan.
	do(t, ctx, chromedp.Click(chromedp.Search(`//button[text()="Rotate"]`)))
	waitJS(t, ctx, `document.querySelector("h1").textContent === "API key alice (rotated)"`)
	pk, err := c.GetUsagePlanKeys(ctx, &apigateway.GetUsagePlanKeysInput{UsagePlanId: &planID})
	if err != nil || len(pk.Items) != 2 {
		t.Fatalf("plan keys after rotation: %+v %v", pk, err)
	}

	// UpdateUsage from the plan's page: the key gets 7 requests left for the period.
	do(t, ctx,
		chromedp.Navigate(base+"plans/"+planID),
		chromedp.WaitVisible(chromedp.CSS("#ukey")),
		chromedp.SendKeys(chromedp.CSS("#ukey"), keyID),
		chromedp.SendKeys(chromedp.CSS("#remaining"), "7"),
		chromedp.Click(chromedp.CSS(`input[name="confirm"]`)),
		chromedp.Submit(chromedp.CSS("#remaining")),
	)
	waitJS(t, ctx, `document.querySelector(".flash") !== null && document.querySelector(".flash").textContent.includes("7 request(s) left")`)
	today := time.Now().UTC().Format("2006-01-02")
	u, err := c.GetUsage(ctx, &apigateway.GetUsageInput{UsagePlanId: &planID, KeyId: &keyID, StartDate: &today, EndDate: &today})
	if err != nil || len(u.Items[keyID]) != 1 || u.Items[keyID][0][1] != 7 {
		t.Fatalf("usage after UpdateUsage from the console: %+v %v", u, err)
	}

	// A method throttle of the plan, from its page.
	do(t, ctx,
		chromedp.SendKeys(chromedp.CSS("#mmethod"), "/mock/GET"),
		chromedp.SendKeys(chromedp.CSS("#mrate"), "3"),
		chromedp.SendKeys(chromedp.CSS("#mburst"), "4"),
		chromedp.Submit(chromedp.CSS("#mmethod")),
	)
	waitJS(t, ctx, `document.getElementById("method-throttles").textContent.includes("/mock/GET: 3/s, burst 4")`)
	shot(t, ctx, dir, "console-plan-edit")

	// Import 1,000 keys from a CSV file with one bad line: 1,000 imported, the warning shown.
	var csv strings.Builder
	csv.WriteString("Name,Key,Enabled,UsagePlanIds\n")
	for i := 0; i < 1000; i++ {
		fmt.Fprintf(&csv, "bulk-%04d,bulk-key-value-%06d-abcdefghij,true,%s\n", i, i, planID)
	}
	csv.WriteString("broken,short,true,\n")
	file := filepath.Join(t.TempDir(), "keys.csv")
	if err := os.WriteFile(file, []byte(csv.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	do(t, ctx, chromedp.Navigate(base+"import"), chromedp.WaitVisible(chromedp.CSS("#file")), chromedp.SetUploadFiles(chromedp.CSS("#file"), []string{file}),
		chromedp.Click(chromedp.Search(`//button[text()="Import"]`)))
	waitJS(t, ctx, `document.getElementById("import-count") !== null`)
	if got := text(t, ctx, "#import-count"); got != "1000 key(s) imported." {
		t.Fatalf("import: %q", got)
	}
	if w := text(t, ctx, "#import-warnings"); !strings.Contains(w, "Line 1002") {
		t.Fatalf("import warnings: %q", w)
	}
	shot(t, ctx, dir, "console-import")

	// The CSV export of a search: every bulk key, no values.
	expReq, _ := http.NewRequest("GET", base+"keys.csv?q=bulk-&by=name", nil)
	cookies, err := chromedp.Run(ctx, chromedp.Action[[]*network.Cookie](func(ctx context.Context, tg *chromedp.Target) ([]*network.Cookie, error) {
		res, err := cdp.Call(ctx, tg, network.GetCookies, network.GetCookiesParams{})
		return res.Cookies, err
	}))
	if err != nil {
		t.Fatal(err)
	}
	for _, ck := range cookies {
		expReq.AddCookie(&http.Cookie{Name: ck.Name, Value: ck.Value})
	}
	expResp, err := http.DefaultClient.Do(expReq)
	if err != nil {
		t.Fatal(err)
	}
	exported, _ := io.ReadAll(expResp.Body)
	expResp.Body.Close()
	if n := strings.Count(string(exported), "\nbulk-"); n != 1000 || strings.Contains(string(exported), "bulk-key-value-") {
		t.Fatalf("export: %d bulk rows (values shown: %v)", n, strings.Contains(string(exported), "bulk-key-value-"))
	}

	// The API's page: its resource tree, a stage throttle set from the console.
	do(t, ctx,
		chromedp.Navigate(base+"apis/"+g.ID),
		chromedp.WaitVisible(chromedp.CSS("#trate")),
		chromedp.SendKeys(chromedp.CSS("#trate"), "50"),
		chromedp.SendKeys(chromedp.CSS("#tburst"), "25"),
		chromedp.Submit(chromedp.CSS("#trate")),
	)
	waitJS(t, ctx, `document.body.textContent.includes("*/*: 50/s, burst 25")`)
	shot(t, ctx, dir, "console-api")

	// The other pages, for the screenshots.
	do(t, ctx, chromedp.Navigate(base+"plans/"+planID), chromedp.WaitVisible(chromedp.CSS("table")))
	shot(t, ctx, dir, "console-plan")
	do(t, ctx, chromedp.Navigate(base+"plans"), chromedp.WaitVisible(chromedp.CSS("table")))
	shot(t, ctx, dir, "console-plans")
	do(t, ctx, chromedp.Navigate(base+"keys"), chromedp.WaitVisible(chromedp.CSS("table")))
	shot(t, ctx, dir, "console-keys")
	do(t, ctx, chromedp.Navigate(base), chromedp.WaitVisible(chromedp.CSS("#overview-chart svg")))
	shot(t, ctx, dir, "console-overview")

	// Sign out: the session cookie no longer works.
	cookies, err = chromedp.Run(ctx, chromedp.Action[[]*network.Cookie](func(ctx context.Context, tg *chromedp.Target) ([]*network.Cookie, error) {
		res, err := cdp.Call(ctx, tg, network.GetCookies, network.GetCookiesParams{})
		return res.Cookies, err
	}))
	if err != nil {
		t.Fatal(err)
	}
	var sid string
	for _, ck := range cookies {
		if ck.Name == "tollgate_console" {
			sid = ck.Value
			if !ck.HTTPOnly || ck.SameSite != network.CookieSameSiteStrict {
				t.Fatalf("session cookie flags: %+v", ck)
			}
		}
	}
	if sid == "" {
		t.Fatal("no session cookie")
	}
	do(t, ctx, chromedp.Click(chromedp.Search(`//button[text()="Sign out"]`)), chromedp.WaitVisible(chromedp.CSS("#access_key_id")))
	req, _ := http.NewRequest("GET", base+"keys", nil)
	req.AddCookie(&http.Cookie{Name: "tollgate_console", Value: sid})
	resp, err := (&http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther || !strings.HasSuffix(resp.Header.Get("Location"), "/signin") {
		t.Fatalf("the old session after sign-out: %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
}

// TestConsoleNarrow: at 375 px wide the pages still fit (no horizontal scrolling).
func TestConsoleNarrow(t *testing.T) {
	s := &server{harness.Start(t, harness.Options{Args: []string{"--console"}})}
	ctx := browser(t, 800)
	dir := artifactDir(t)
	base := s.Endpoint + "/_tollgate/console/"
	// A window cannot be narrower than about 500 px: the viewport of a phone is emulated.
	do(t, ctx, chromedp.EmulateViewport(375, 812, chromedp.EmulateMobile))
	signIn(t, ctx, base)
	for _, path := range []string{"", "plans", "keys"} {
		do(t, ctx, chromedp.Navigate(base+path), chromedp.WaitVisible(chromedp.CSS("main")))
		overflow, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`document.documentElement.scrollWidth > window.innerWidth + 1`))
		if err != nil {
			t.Fatal(err)
		}
		if overflow {
			t.Errorf("/%s scrolls sideways at 375 px", path)
		}
	}
	shot(t, ctx, dir, "console-keys-375px")
	// The dark theme (prefers-color-scheme: dark), for the screenshot.
	if _, err := chromedp.Run(ctx, chromedp.Action[cdp.Empty](func(ctx context.Context, tg *chromedp.Target) (cdp.Empty, error) {
		return cdp.Call(ctx, tg, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{Features: []*emulation.MediaFeature{{Name: "prefers-color-scheme", Value: "dark"}}})
	})); err != nil {
		t.Fatal(err)
	}
	do(t, ctx, chromedp.Navigate(base), chromedp.WaitVisible(chromedp.CSS("main")))
	bg, err := chromedp.Run(ctx, chromedp.Evaluate[string](`getComputedStyle(document.body).backgroundColor`))
	if err != nil {
		t.Fatal(err)
	}
	if bg != "rgb(17, 20, 24)" {
		t.Errorf("dark theme background: %s", bg)
	}
	shot(t, ctx, dir, "console-overview-dark-375px")
}

// TestConsoleAddr: with --console-addr the console has a listener of its own and the main
// address does not serve it (it answers as the management API does, unsigned: 403).
func TestConsoleAddr(t *testing.T) {
	addr := freePort(t)
	s := &server{harness.Start(t, harness.Options{Args: []string{"--console", "--console-addr", addr}})}
	get := func(url string) int {
		resp, err := (&http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}).Get(url)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	eventually(t, 10*time.Second, "the console listener", func() bool {
		resp, err := http.Get("http://" + addr + "/_tollgate/console/signin")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == 200
	})
	if st := get(s.Endpoint + "/_tollgate/console/signin"); st != http.StatusForbidden {
		t.Fatalf("the console on the main address: %d, want 403", st)
	}
	if st := get("http://" + addr + "/apikeys"); st != http.StatusNotFound {
		t.Fatalf("the management API on the console address: %d, want 404", st)
	}
}
