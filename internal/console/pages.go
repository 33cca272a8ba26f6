package console

import (
	"context"
	"encoding/json"
	"html/template"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/apigateway"
	"github.com/aws/aws-sdk-go-v2/service/apigateway/types"
)

var funcs = template.FuncMap{
	"deref": func(p *string) string { return aws.ToString(p) },
	"date": func(t *time.Time) string {
		if t == nil {
			return ""
		}
		return t.UTC().Format("2006-01-02 15:04")
	},
	"prefix": func() string { return Prefix },
	"query":  url.QueryEscape,
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

func ctx(r *http.Request) (context.Context, context.CancelFunc) {
	return context.WithTimeout(r.Context(), 30*time.Second)
}

// overviewData is the overview page.
type overviewData struct {
	Plans      int
	Throttling []string
	Near       []nearQuota
}

func (s *Server) overview(w http.ResponseWriter, r *http.Request, sess *session) {
	c, cancel := ctx(r)
	defer cancel()
	d := overviewData{Throttling: s.sampler.throttling(time.Minute)}
	p, err := s.client(sess).GetUsagePlans(c, &apigateway.GetUsagePlansInput{Limit: aws.Int32(500)})
	var msg string
	if err != nil {
		msg = apiError(err)
	} else {
		d.Plans = len(p.Items)
		d.Near = s.nearestQuota(r, s.client(sess), p.Items)
	}
	s.render(w, http.StatusOK, "overview", page{Title: "Overview", Nav: "overview", Session: sess, Error: msg, Data: d})
}

// liveOverview answers the overview's figures as JSON: the points after ?since= (Unix ms; the
// whole last hour without it) and the stages that throttled in the last minute. The page polls
// it: plain requests work the same on both serving engines and through any proxy.
func (s *Server) liveOverview(w http.ResponseWriter, r *http.Request, _ *session) {
	since, _ := strconv.ParseInt(r.URL.Query().Get("since"), 10, 64)
	var pts []point
	for _, p := range s.sampler.history() {
		if p.T > since {
			pts = append(pts, p)
		}
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]any{"points": pts, "throttling": s.sampler.throttling(time.Minute)})
}

// plansData is the usage plans page.
type plansData struct {
	Plans []types.UsagePlan
	Next  string
}

func (s *Server) plans(w http.ResponseWriter, r *http.Request, sess *session) {
	c, cancel := ctx(r)
	defer cancel()
	in := &apigateway.GetUsagePlansInput{Limit: aws.Int32(50)}
	if pos := r.URL.Query().Get("position"); pos != "" {
		in.Position = aws.String(pos)
	}
	out, err := s.client(sess).GetUsagePlans(c, in)
	p := page{Title: "Usage plans", Nav: "plans", Session: sess, Flash: r.URL.Query().Get("flash")}
	if err != nil {
		p.Error = apiError(err)
	} else {
		p.Data = plansData{Plans: out.Items, Next: aws.ToString(out.Position)}
	}
	s.render(w, http.StatusOK, "plans", p)
}

// createPlan creates a plan from the form: name, throttle, quota and one stage (api:stage).
func (s *Server) createPlan(w http.ResponseWriter, r *http.Request, sess *session) {
	c, cancel := ctx(r)
	defer cancel()
	f := r.PostForm
	in := &apigateway.CreateUsagePlanInput{Name: aws.String(strings.TrimSpace(f.Get("name")))}
	if d := strings.TrimSpace(f.Get("description")); d != "" {
		in.Description = aws.String(d)
	}
	var bad []string
	if f.Get("rate") != "" || f.Get("burst") != "" {
		rate, err1 := strconv.ParseFloat(f.Get("rate"), 64)
		burst, err2 := strconv.ParseInt(f.Get("burst"), 10, 32)
		if err1 != nil || err2 != nil {
			bad = append(bad, "The throttle needs a rate (requests per second) and a burst (a whole number).")
		}
		in.Throttle = &types.ThrottleSettings{RateLimit: rate, BurstLimit: int32(burst)}
	}
	if f.Get("quota") != "" {
		n, err := strconv.ParseInt(f.Get("quota"), 10, 32)
		if err != nil {
			bad = append(bad, "The quota must be a whole number of requests.")
		}
		in.Quota = &types.QuotaSettings{Limit: int32(n), Period: types.QuotaPeriodType(f.Get("period"))}
	}
	if st := strings.TrimSpace(f.Get("stage")); st != "" {
		api, stage, ok := strings.Cut(st, ":")
		if !ok {
			bad = append(bad, "A stage is written apiId:stageName.")
		}
		in.ApiStages = []types.ApiStage{{ApiId: aws.String(api), Stage: aws.String(stage)}}
	}
	if len(bad) > 0 {
		s.renderPlansError(w, r, sess, strings.Join(bad, " "))
		return
	}
	p, err := s.client(sess).CreateUsagePlan(c, in)
	if err != nil {
		s.renderPlansError(w, r, sess, apiError(err))
		return
	}
	http.Redirect(w, r, Prefix+"plans/"+aws.ToString(p.Id)+"?flash="+url.QueryEscape("Usage plan created."), http.StatusSeeOther)
}

func (s *Server) renderPlansError(w http.ResponseWriter, r *http.Request, sess *session, msg string) {
	c, cancel := ctx(r)
	defer cancel()
	out, err := s.client(sess).GetUsagePlans(c, &apigateway.GetUsagePlansInput{Limit: aws.Int32(50)})
	p := page{Title: "Usage plans", Nav: "plans", Session: sess, Error: msg}
	if err == nil {
		p.Data = plansData{Plans: out.Items, Next: aws.ToString(out.Position)}
	}
	s.render(w, http.StatusBadRequest, "plans", p)
}

// planKey is one key of a plan's page with its use of the current day.
type planKey struct {
	ID, Name        string
	Used, Remaining int64
	Known           bool
}

// planData is a plan's page.
type planData struct {
	Plan *apigateway.GetUsagePlanOutput
	Keys []planKey
	Next string
}

func (s *Server) plan(w http.ResponseWriter, r *http.Request, sess *session) {
	c, cancel := ctx(r)
	defer cancel()
	cl := s.client(sess)
	id := r.PathValue("id")
	p := page{Title: "Usage plan", Nav: "plans", Session: sess, Flash: r.URL.Query().Get("flash"), Error: r.URL.Query().Get("error")}
	plan, err := cl.GetUsagePlan(c, &apigateway.GetUsagePlanInput{UsagePlanId: &id})
	if err != nil {
		p.Error = apiError(err)
		s.render(w, http.StatusNotFound, "plan", p)
		return
	}
	in := &apigateway.GetUsagePlanKeysInput{UsagePlanId: &id, Limit: aws.Int32(50)}
	if pos := r.URL.Query().Get("position"); pos != "" {
		in.Position = aws.String(pos)
	}
	keys, err := cl.GetUsagePlanKeys(c, in)
	d := planData{Plan: plan}
	if err != nil {
		p.Error = apiError(err)
	} else {
		d.Next = aws.ToString(keys.Position)
		today := s.now().UTC().Format("2006-01-02")
		for _, k := range keys.Items {
			pk := planKey{ID: aws.ToString(k.Id), Name: aws.ToString(k.Name)}
			u, err := cl.GetUsage(c, &apigateway.GetUsageInput{UsagePlanId: &id, KeyId: k.Id, StartDate: &today, EndDate: &today})
			if err == nil {
				if days := u.Items[pk.ID]; len(days) > 0 && len(days[0]) == 2 {
					pk.Used, pk.Remaining, pk.Known = days[0][0], days[0][1], true
				}
			}
			d.Keys = append(d.Keys, pk)
		}
	}
	p.Title, p.Data = "Usage plan "+aws.ToString(plan.Name), d
	s.render(w, http.StatusOK, "plan", p)
}

// addPlanKey adds an existing key to the plan.
func (s *Server) addPlanKey(w http.ResponseWriter, r *http.Request, sess *session) {
	c, cancel := ctx(r)
	defer cancel()
	id := r.PathValue("id")
	_, err := s.client(sess).CreateUsagePlanKey(c, &apigateway.CreateUsagePlanKeyInput{UsagePlanId: &id,
		KeyId: aws.String(strings.TrimSpace(r.PostFormValue("key_id"))), KeyType: aws.String("API_KEY")})
	q := "?flash=" + url.QueryEscape("Key added to the plan.")
	if err != nil {
		q = "?error=" + url.QueryEscape(apiError(err))
	}
	http.Redirect(w, r, Prefix+"plans/"+url.PathEscape(id)+q, http.StatusSeeOther)
}

// keysData is the API keys page.
type keysData struct {
	Keys  []types.ApiKey
	Next  string
	Query string
	By    string
	Plans []types.UsagePlan
}

// keys lists keys by name prefix, customer id or key id, a page at a time.
func (s *Server) keys(w http.ResponseWriter, r *http.Request, sess *session) {
	c, cancel := ctx(r)
	defer cancel()
	cl := s.client(sess)
	q := r.URL.Query()
	d := keysData{Query: strings.TrimSpace(q.Get("q")), By: q.Get("by")}
	p := page{Title: "API keys", Nav: "keys", Session: sess, Flash: q.Get("flash"), Error: q.Get("error")}
	switch {
	case d.By == "id" && d.Query != "":
		k, err := cl.GetApiKey(c, &apigateway.GetApiKeyInput{ApiKey: aws.String(d.Query)})
		if err == nil {
			d.Keys = []types.ApiKey{{Id: k.Id, Name: k.Name, CustomerId: k.CustomerId, Enabled: k.Enabled, CreatedDate: k.CreatedDate, Description: k.Description}}
		}
	default:
		in := &apigateway.GetApiKeysInput{Limit: aws.Int32(50)}
		if pos := q.Get("position"); pos != "" {
			in.Position = aws.String(pos)
		}
		if d.Query != "" {
			if d.By == "customer" {
				in.CustomerId = aws.String(d.Query)
			} else {
				in.NameQuery = aws.String(d.Query)
			}
		}
		out, err := cl.GetApiKeys(c, in)
		if err != nil {
			p.Error = apiError(err)
		} else {
			d.Keys, d.Next = out.Items, aws.ToString(out.Position)
		}
	}
	if plans, err := cl.GetUsagePlans(c, &apigateway.GetUsagePlansInput{Limit: aws.Int32(500)}); err == nil {
		d.Plans = plans.Items
	}
	p.Data = d
	s.render(w, http.StatusOK, "keys", p)
}

// createKey creates a key, enabled, and adds it to the chosen plan.
func (s *Server) createKey(w http.ResponseWriter, r *http.Request, sess *session) {
	c, cancel := ctx(r)
	defer cancel()
	cl := s.client(sess)
	in := &apigateway.CreateApiKeyInput{Name: aws.String(strings.TrimSpace(r.PostFormValue("name"))), Enabled: true}
	if cid := strings.TrimSpace(r.PostFormValue("customer_id")); cid != "" {
		in.CustomerId = aws.String(cid)
	}
	k, err := cl.CreateApiKey(c, in)
	if err != nil {
		http.Redirect(w, r, Prefix+"keys?error="+url.QueryEscape(apiError(err)), http.StatusSeeOther)
		return
	}
	flash := "Key created."
	if plan := r.PostFormValue("plan"); plan != "" {
		if _, err := cl.CreateUsagePlanKey(c, &apigateway.CreateUsagePlanKeyInput{UsagePlanId: &plan, KeyId: k.Id, KeyType: aws.String("API_KEY")}); err != nil {
			http.Redirect(w, r, Prefix+"keys/"+aws.ToString(k.Id)+"?error="+url.QueryEscape("Key created, but not added to the plan: "+apiError(err)), http.StatusSeeOther)
			return
		}
		flash = "Key created in the plan."
	}
	http.Redirect(w, r, Prefix+"keys/"+aws.ToString(k.Id)+"?flash="+url.QueryEscape(flash), http.StatusSeeOther)
}

// keyData is a key's page.
type keyData struct {
	Key   *apigateway.GetApiKeyOutput
	Plans []types.UsagePlan
	Days  int
	// Value is shown once, after the user asked to reveal it.
	Value string
}

func (s *Server) key(w http.ResponseWriter, r *http.Request, sess *session) {
	s.renderKey(w, r, sess, r.PathValue("id"), "")
}

// renderKey renders a key's page; value is the key's value when the user asked to reveal it.
func (s *Server) renderKey(w http.ResponseWriter, r *http.Request, sess *session, id, value string) {
	c, cancel := ctx(r)
	defer cancel()
	cl := s.client(sess)
	p := page{Title: "API key", Nav: "keys", Session: sess, Flash: r.URL.Query().Get("flash"), Error: r.URL.Query().Get("error")}
	k, err := cl.GetApiKey(c, &apigateway.GetApiKeyInput{ApiKey: &id})
	if err != nil {
		p.Error = apiError(err)
		s.render(w, http.StatusNotFound, "key", p)
		return
	}
	plans, err := cl.GetUsagePlans(c, &apigateway.GetUsagePlansInput{KeyId: &id, Limit: aws.Int32(500)})
	d := keyData{Key: k, Days: days(r), Value: value}
	if err == nil {
		d.Plans = plans.Items
	}
	p.Title, p.Data = "API key "+aws.ToString(k.Name), d
	s.render(w, http.StatusOK, "key", p)
}

// days is the chart's range: ?days=, 1 to 90 (default 30).
func days(r *http.Request) int {
	n, err := strconv.Atoi(r.URL.Query().Get("days"))
	if err != nil || n < 1 {
		return 30
	}
	return min(n, 90)
}

// usageSeries is a key's daily use in one plan.
type usageSeries struct {
	Plan   string    `json:"plan"`
	Name   string    `json:"name"`
	Quota  int32     `json:"quota"`  // per day when the plan's quota is daily (0: none drawn)
	Period string    `json:"period"` // the plan's quota period
	Days   []string  `json:"days"`
	Used   []int64   `json:"used"`
	Left   []int64   `json:"remaining"`
	At     time.Time `json:"at"`
}

// keyUsage answers the key's daily usage in each of its plans for the chart (JSON), from
// GetUsage: the same numbers the API reports, in real time.
func (s *Server) keyUsage(w http.ResponseWriter, r *http.Request, sess *session) {
	c, cancel := ctx(r)
	defer cancel()
	cl := s.client(sess)
	id := r.PathValue("id")
	n := days(r)
	end := s.now().UTC()
	start := end.AddDate(0, 0, -(n - 1))
	plans, err := cl.GetUsagePlans(c, &apigateway.GetUsagePlansInput{KeyId: &id, Limit: aws.Int32(500)})
	if err != nil {
		http.Error(w, apiError(err), http.StatusBadGateway)
		return
	}
	var out []usageSeries
	for _, p := range plans.Items {
		ser := usageSeries{Plan: aws.ToString(p.Id), Name: aws.ToString(p.Name), At: end}
		if q := p.Quota; q != nil {
			ser.Period = string(q.Period)
			if q.Period == types.QuotaPeriodTypeDay {
				ser.Quota = q.Limit
			}
		}
		from, to := start.Format("2006-01-02"), end.Format("2006-01-02")
		u, err := cl.GetUsage(c, &apigateway.GetUsageInput{UsagePlanId: p.Id, KeyId: &id, StartDate: &from, EndDate: &to})
		if err != nil {
			continue
		}
		vals := u.Items[id]
		for i := 0; i < n; i++ {
			ser.Days = append(ser.Days, start.AddDate(0, 0, i).Format("2006-01-02"))
			var used, left int64
			if i < len(vals) && len(vals[i]) == 2 {
				used, left = vals[i][0], vals[i][1]
			}
			ser.Used, ser.Left = append(ser.Used, used), append(ser.Left, left)
		}
		out = append(out, ser)
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(out)
}

// keyAction enables, disables, deletes or rotates a key. Rotation creates a replacement in the
// same plans (named "<name> (rotated)") and disables the old key only when the form confirms it.
func (s *Server) keyAction(w http.ResponseWriter, r *http.Request, sess *session) {
	c, cancel := ctx(r)
	defer cancel()
	cl := s.client(sess)
	id := r.PathValue("id")
	back := Prefix + "keys/" + url.PathEscape(id)
	fail := func(err error) {
		http.Redirect(w, r, back+"?error="+url.QueryEscape(apiError(err)), http.StatusSeeOther)
	}
	switch r.PathValue("action") {
	case "enable", "disable":
		v := strconv.FormatBool(r.PathValue("action") == "enable")
		if _, err := cl.UpdateApiKey(c, &apigateway.UpdateApiKeyInput{ApiKey: &id, PatchOperations: []types.PatchOperation{
			{Op: types.OpReplace, Path: aws.String("/enabled"), Value: aws.String(v)}}}); err != nil {
			fail(err)
			return
		}
		http.Redirect(w, r, back+"?flash="+url.QueryEscape("Key "+r.PathValue("action")+"d."), http.StatusSeeOther)
	case "delete":
		if r.PostFormValue("confirm") != "yes" {
			http.Redirect(w, r, back+"?error="+url.QueryEscape("Tick the confirmation to delete the key."), http.StatusSeeOther)
			return
		}
		if _, err := cl.DeleteApiKey(c, &apigateway.DeleteApiKeyInput{ApiKey: &id}); err != nil {
			fail(err)
			return
		}
		http.Redirect(w, r, Prefix+"keys?flash="+url.QueryEscape("Key deleted."), http.StatusSeeOther)
	case "rotate":
		old, err := cl.GetApiKey(c, &apigateway.GetApiKeyInput{ApiKey: &id})
		if err != nil {
			fail(err)
			return
		}
		plans, err := cl.GetUsagePlans(c, &apigateway.GetUsagePlansInput{KeyId: &id, Limit: aws.Int32(500)})
		if err != nil {
			fail(err)
			return
		}
		nk, err := cl.CreateApiKey(c, &apigateway.CreateApiKeyInput{Name: aws.String(aws.ToString(old.Name) + " (rotated)"), Enabled: true,
			CustomerId: old.CustomerId, Description: old.Description})
		if err != nil {
			fail(err)
			return
		}
		for _, p := range plans.Items {
			if _, err := cl.CreateUsagePlanKey(c, &apigateway.CreateUsagePlanKeyInput{UsagePlanId: p.Id, KeyId: nk.Id, KeyType: aws.String("API_KEY")}); err != nil {
				http.Redirect(w, r, Prefix+"keys/"+aws.ToString(nk.Id)+"?error="+url.QueryEscape("The new key is not in every plan: "+apiError(err)), http.StatusSeeOther)
				return
			}
		}
		flash := "Replacement key created in " + itoa(int64(len(plans.Items))) + " plan(s); the old key is still enabled."
		if r.PostFormValue("disable_old") == "yes" {
			if _, err := cl.UpdateApiKey(c, &apigateway.UpdateApiKeyInput{ApiKey: &id, PatchOperations: []types.PatchOperation{
				{Op: types.OpReplace, Path: aws.String("/enabled"), Value: aws.String("false")}}}); err != nil {
				fail(err)
				return
			}
			flash = "Replacement key created in " + itoa(int64(len(plans.Items))) + " plan(s); the old key is disabled."
		}
		http.Redirect(w, r, Prefix+"keys/"+aws.ToString(nk.Id)+"?flash="+url.QueryEscape(flash), http.StatusSeeOther)
	default:
		http.NotFound(w, r)
	}
}
