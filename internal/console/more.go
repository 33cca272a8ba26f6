package console

import (
	"encoding/csv"
	"io"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/apigateway"
	"github.com/aws/aws-sdk-go-v2/service/apigateway/types"
)

// maxImport bounds an uploaded CSV file (the management API's import limit).
const maxImport = 64 << 20

// importData is the answer to a CSV import.
type importData struct {
	Imported int
	Warnings []string
}

// importKeys sends an uploaded CSV file to ImportApiKeys (warnings do not stop the import) and
// shows how many keys were imported and every warning, line by line.
func (s *Server) importKeys(w http.ResponseWriter, r *http.Request, sess *session) {
	c, cancel := ctx(r)
	defer cancel()
	f, _, err := r.FormFile("file")
	p := page{Title: "Import API keys", Nav: "keys", Session: sess}
	if err != nil {
		p.Error = "Choose a CSV file to import."
		s.render(w, http.StatusBadRequest, "import", p)
		return
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxImport+1))
	if err != nil || len(b) > maxImport {
		p.Error = "The file is over 64 MB, the import limit."
		s.render(w, http.StatusBadRequest, "import", p)
		return
	}
	out, err := s.client(sess).ImportApiKeys(c, &apigateway.ImportApiKeysInput{Body: b, Format: types.ApiKeysFormatCsv, FailOnWarnings: false})
	if err != nil {
		p.Error = apiError(err)
		s.render(w, http.StatusBadRequest, "import", p)
		return
	}
	p.Data = importData{Imported: len(out.Ids), Warnings: out.Warnings}
	p.Flash = itoa(int64(len(out.Ids))) + " key(s) imported."
	s.render(w, http.StatusOK, "import", p)
}

// importPage is the import form.
func (s *Server) importPage(w http.ResponseWriter, r *http.Request, sess *session) {
	s.render(w, http.StatusOK, "import", page{Title: "Import API keys", Nav: "keys", Session: sess})
}

// exportKeys streams the listing (the same search as the keys page) as CSV, every page of it:
// a million keys are read a page at a time, never held at once. Key values are not exported.
func (s *Server) exportKeys(w http.ResponseWriter, r *http.Request, sess *session) {
	c, cancel := ctx(r)
	defer cancel()
	cl := s.client(sess)
	q := r.URL.Query()
	in := &apigateway.GetApiKeysInput{Limit: aws.Int32(500)}
	if v := strings.TrimSpace(q.Get("q")); v != "" {
		if q.Get("by") == "customer" {
			in.CustomerId = aws.String(v)
		} else {
			in.NameQuery = aws.String(v)
		}
	}
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="api-keys.csv"`)
	cw := csv.NewWriter(w)
	_ = cw.Write([]string{"Name", "Id", "CustomerId", "Enabled", "CreatedDate", "Description"})
	for {
		out, err := cl.GetApiKeys(c, in)
		if err != nil {
			_ = cw.Write([]string{"# export stopped: " + apiError(err)})
			break
		}
		for _, k := range out.Items {
			created := ""
			if k.CreatedDate != nil {
				created = k.CreatedDate.UTC().Format(time.RFC3339)
			}
			_ = cw.Write([]string{csvSafe(aws.ToString(k.Name)), aws.ToString(k.Id), csvSafe(aws.ToString(k.CustomerId)),
				strconv.FormatBool(k.Enabled), created, csvSafe(aws.ToString(k.Description))})
		}
		cw.Flush()
		if out.Position == nil || *out.Position == "" {
			break
		}
		in.Position = out.Position
	}
	cw.Flush()
}

// csvSafe keeps a spreadsheet from reading a cell as a formula (CSV injection).
func csvSafe(v string) string {
	if v != "" && strings.ContainsRune("=+-@\t\r", rune(v[0])) {
		return "'" + v
	}
	return v
}

// revealKey shows a key's value once, on this answer only, and records who asked (never the
// value) in the audit log.
func (s *Server) revealKey(w http.ResponseWriter, r *http.Request, sess *session) {
	c, cancel := ctx(r)
	defer cancel()
	id := r.PathValue("id")
	k, err := s.client(sess).GetApiKey(c, &apigateway.GetApiKeyInput{ApiKey: &id, IncludeValue: aws.Bool(true)})
	if err != nil {
		http.Redirect(w, r, Prefix+"keys/"+url.PathEscape(id)+"?error="+url.QueryEscape(apiError(err)), http.StatusSeeOther)
		return
	}
	s.log.Info("audit", "operation", "ConsoleRevealApiKey", "access-key-id", sess.accessKeyID, "region", sess.region, "api_key", id, "remote", clientAddr(r))
	s.renderKey(w, r, sess, id, aws.ToString(k.Value))
}

// grantUsage is UpdateUsage: it sets how many requests a key has left in the plan's current
// period (more than the quota grants an extension), after the form's confirmation.
func (s *Server) grantUsage(w http.ResponseWriter, r *http.Request, sess *session) {
	c, cancel := ctx(r)
	defer cancel()
	plan, key := r.PathValue("id"), strings.TrimSpace(r.PostFormValue("key_id"))
	back := Prefix + "plans/" + url.PathEscape(plan)
	if r.PostFormValue("confirm") != "yes" {
		http.Redirect(w, r, back+"?error="+url.QueryEscape("Tick the confirmation to change the key's remaining requests."), http.StatusSeeOther)
		return
	}
	n := strings.TrimSpace(r.PostFormValue("remaining"))
	_, err := s.client(sess).UpdateUsage(c, &apigateway.UpdateUsageInput{UsagePlanId: &plan, KeyId: &key, PatchOperations: []types.PatchOperation{
		{Op: types.OpReplace, Path: aws.String("/remaining"), Value: aws.String(n)}}})
	if err != nil {
		http.Redirect(w, r, back+"?error="+url.QueryEscape(apiError(err)), http.StatusSeeOther)
		return
	}
	http.Redirect(w, r, back+"?flash="+url.QueryEscape("Key "+key+" has "+n+" request(s) left in this period."), http.StatusSeeOther)
}

// updatePlan changes a plan's throttle and quota (empty fields remove them) and attaches a
// stage, with UpdateUsagePlan's patch operations.
func (s *Server) updatePlan(w http.ResponseWriter, r *http.Request, sess *session) {
	c, cancel := ctx(r)
	defer cancel()
	cl := s.client(sess)
	id := r.PathValue("id")
	back := Prefix + "plans/" + url.PathEscape(id)
	cur, err := cl.GetUsagePlan(c, &apigateway.GetUsagePlanInput{UsagePlanId: &id})
	if err != nil {
		http.Redirect(w, r, back+"?error="+url.QueryEscape(apiError(err)), http.StatusSeeOther)
		return
	}
	f := r.PostForm
	var ops []types.PatchOperation
	op := func(o types.Op, path, v string) {
		p := types.PatchOperation{Op: o, Path: aws.String(path)}
		if v != "" {
			p.Value = aws.String(v)
		}
		ops = append(ops, p)
	}
	rate, burst := strings.TrimSpace(f.Get("rate")), strings.TrimSpace(f.Get("burst"))
	switch {
	case rate == "" && burst == "" && cur.Throttle != nil:
		op(types.OpRemove, "/throttle", "")
	case rate != "" || burst != "":
		op(types.OpReplace, "/throttle/rateLimit", rate)
		op(types.OpReplace, "/throttle/burstLimit", burst)
	}
	quota, period := strings.TrimSpace(f.Get("quota")), f.Get("period")
	switch {
	case quota == "" && cur.Quota != nil:
		op(types.OpRemove, "/quota", "")
	case quota != "":
		op(types.OpReplace, "/quota/limit", quota)
		op(types.OpReplace, "/quota/period", period)
	}
	if st := strings.TrimSpace(f.Get("stage")); st != "" {
		op(types.OpAdd, "/apiStages", st)
	}
	if len(ops) == 0 {
		http.Redirect(w, r, back, http.StatusSeeOther)
		return
	}
	if _, err := cl.UpdateUsagePlan(c, &apigateway.UpdateUsagePlanInput{UsagePlanId: &id, PatchOperations: ops}); err != nil {
		http.Redirect(w, r, back+"?error="+url.QueryEscape(apiError(err)), http.StatusSeeOther)
		return
	}
	http.Redirect(w, r, back+"?flash="+url.QueryEscape("Usage plan updated."), http.StatusSeeOther)
}

// nearQuota is a key near its plan's quota, for the overview.
type nearQuota struct {
	Plan, PlanName, Key string
	Used, Remaining     int64
	Limit               int32
	Period              string
}

// nearestQuota lists the keys with the least of their quota left this period: GetUsage of the
// current day for each plan with a quota (the first page of its keys: at most perPlan), the
// ten with the smallest share remaining.
func (s *Server) nearestQuota(r *http.Request, cl *apigateway.Client, plans []types.UsagePlan) []nearQuota {
	c, cancel := ctx(r)
	defer cancel()
	const perPlan = 500
	today := s.now().UTC().Format("2006-01-02")
	var out []nearQuota
	for _, p := range plans {
		if p.Quota == nil || p.Quota.Limit <= 0 {
			continue
		}
		u, err := cl.GetUsage(c, &apigateway.GetUsageInput{UsagePlanId: p.Id, StartDate: &today, EndDate: &today, Limit: aws.Int32(perPlan)})
		if err != nil {
			continue
		}
		for key, days := range u.Items {
			if len(days) == 0 || len(days[0]) != 2 || days[0][0] == 0 {
				continue
			}
			out = append(out, nearQuota{Plan: aws.ToString(p.Id), PlanName: aws.ToString(p.Name), Key: key, Used: days[0][0], Remaining: days[0][1],
				Limit: p.Quota.Limit, Period: string(p.Quota.Period)})
		}
	}
	sort.Slice(out, func(i, j int) bool {
		a, b := float64(out[i].Remaining)/float64(out[i].Limit), float64(out[j].Remaining)/float64(out[j].Limit)
		if a != b {
			return a < b
		}
		return out[i].Key < out[j].Key
	})
	return out[:min(len(out), 10)]
}

// methodThrottle sets, or with empty rate and burst removes, a plan's throttle for one method of
// one of its stages (UpdateUsagePlan's /apiStages/{api}:{stage}/throttle/{path}/{METHOD} paths).
func (s *Server) methodThrottle(w http.ResponseWriter, r *http.Request, sess *session) {
	c, cancel := ctx(r)
	defer cancel()
	id := r.PathValue("id")
	back := Prefix + "plans/" + url.PathEscape(id)
	stage, method := strings.TrimSpace(r.PostFormValue("stage")), strings.TrimSpace(r.PostFormValue("method"))
	i := strings.LastIndex(method, "/")
	if stage == "" || i < 0 || i == len(method)-1 || !strings.HasPrefix(method, "/") {
		http.Redirect(w, r, back+"?error="+url.QueryEscape("Write the method as /resource/path/GET."), http.StatusSeeOther)
		return
	}
	base := "/apiStages/" + stage + "/throttle/" + strings.ReplaceAll(method[:i], "/", "~1") + "/" + strings.ToUpper(method[i+1:])
	rate, burst := strings.TrimSpace(r.PostFormValue("rate")), strings.TrimSpace(r.PostFormValue("burst"))
	ops := []types.PatchOperation{{Op: types.OpRemove, Path: aws.String(base)}}
	if rate != "" || burst != "" {
		ops = []types.PatchOperation{
			{Op: types.OpReplace, Path: aws.String(base + "/rateLimit"), Value: aws.String(rate)},
			{Op: types.OpReplace, Path: aws.String(base + "/burstLimit"), Value: aws.String(burst)},
		}
	}
	if _, err := s.client(sess).UpdateUsagePlan(c, &apigateway.UpdateUsagePlanInput{UsagePlanId: &id, PatchOperations: ops}); err != nil {
		http.Redirect(w, r, back+"?error="+url.QueryEscape(apiError(err)), http.StatusSeeOther)
		return
	}
	http.Redirect(w, r, back+"?flash="+url.QueryEscape("Method throttle of "+method+" on "+stage+" saved."), http.StatusSeeOther)
}
