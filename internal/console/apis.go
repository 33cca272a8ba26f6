package console

import (
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/apigateway"
	"github.com/aws/aws-sdk-go-v2/service/apigateway/types"
)

// apisData is the REST APIs page.
type apisData struct {
	APIs []types.RestApi
	Next string
}

func (s *Server) apis(w http.ResponseWriter, r *http.Request, sess *session) {
	c, cancel := ctx(r)
	defer cancel()
	in := &apigateway.GetRestApisInput{Limit: aws.Int32(50)}
	if pos := r.URL.Query().Get("position"); pos != "" {
		in.Position = aws.String(pos)
	}
	out, err := s.client(sess).GetRestApis(c, in)
	p := page{Title: "APIs and stages", Nav: "apis", Session: sess}
	if err != nil {
		p.Error = apiError(err)
	} else {
		p.Data = apisData{APIs: out.Items, Next: aws.ToString(out.Position)}
	}
	s.render(w, http.StatusOK, "apis", p)
}

// methodRow is one method of an API's resource tree.
type methodRow struct {
	Path, Verb, Auth, Integration string
	KeyRequired                   bool
	Depth                         int
}

// stageRow is one stage with its method settings' throttles.
type stageRow struct {
	Name, Deployment string
	Throttles        []string // "{resource}/{method}: rate/s, burst"
}

// apiData is an API's page.
type apiData struct {
	API         *apigateway.GetRestApiOutput
	Methods     []methodRow
	Deployments []types.Deployment
	Stages      []stageRow
}

// apiPage shows an API's resource tree with each method's settings, its deployments and its
// stages with their throttles.
func (s *Server) apiPage(w http.ResponseWriter, r *http.Request, sess *session) {
	c, cancel := ctx(r)
	defer cancel()
	cl := s.client(sess)
	id := r.PathValue("id")
	p := page{Title: "API", Nav: "apis", Session: sess, Flash: r.URL.Query().Get("flash"), Error: r.URL.Query().Get("error")}
	a, err := cl.GetRestApi(c, &apigateway.GetRestApiInput{RestApiId: &id})
	if err != nil {
		p.Error = apiError(err)
		s.render(w, http.StatusNotFound, "api", p)
		return
	}
	d := apiData{API: a}
	in := &apigateway.GetResourcesInput{RestApiId: &id, Embed: []string{"methods"}, Limit: aws.Int32(500)}
	for {
		res, err := cl.GetResources(c, in)
		if err != nil {
			p.Error = apiError(err)
			break
		}
		for _, rs := range res.Items {
			path := aws.ToString(rs.Path)
			depth := strings.Count(strings.TrimSuffix(path, "/"), "/")
			verbs := make([]string, 0, len(rs.ResourceMethods))
			for v := range rs.ResourceMethods {
				verbs = append(verbs, v)
			}
			sort.Strings(verbs)
			if len(verbs) == 0 {
				d.Methods = append(d.Methods, methodRow{Path: path, Depth: depth})
			}
			for _, v := range verbs {
				m := rs.ResourceMethods[v]
				row := methodRow{Path: path, Verb: v, Auth: aws.ToString(m.AuthorizationType), KeyRequired: aws.ToBool(m.ApiKeyRequired), Depth: depth}
				if in := m.MethodIntegration; in != nil {
					row.Integration = string(in.Type)
					if u := aws.ToString(in.Uri); u != "" {
						row.Integration += " " + u
					}
				}
				d.Methods = append(d.Methods, row)
			}
		}
		if res.Position == nil || *res.Position == "" {
			break
		}
		in.Position = res.Position
	}
	sort.SliceStable(d.Methods, func(i, j int) bool { return d.Methods[i].Path < d.Methods[j].Path })
	if deps, err := cl.GetDeployments(c, &apigateway.GetDeploymentsInput{RestApiId: &id, Limit: aws.Int32(50)}); err == nil {
		d.Deployments = deps.Items
	}
	if sts, err := cl.GetStages(c, &apigateway.GetStagesInput{RestApiId: &id}); err == nil {
		for _, st := range sts.Item {
			row := stageRow{Name: aws.ToString(st.StageName), Deployment: aws.ToString(st.DeploymentId)}
			keys := make([]string, 0, len(st.MethodSettings))
			for k := range st.MethodSettings {
				keys = append(keys, k)
			}
			sort.Strings(keys)
			for _, k := range keys {
				ms := st.MethodSettings[k]
				if ms.ThrottlingRateLimit >= 0 && ms.ThrottlingBurstLimit >= 0 {
					row.Throttles = append(row.Throttles, k+": "+strconv.FormatFloat(ms.ThrottlingRateLimit, 'f', -1, 64)+"/s, burst "+itoa(int64(ms.ThrottlingBurstLimit)))
				}
			}
			d.Stages = append(d.Stages, row)
		}
	}
	p.Title, p.Data = "API "+aws.ToString(a.Name), d
	s.render(w, http.StatusOK, "api", p)
}

// stageThrottle sets a stage's throttle for every method (*/*) or one ({resource}/{METHOD}),
// with UpdateStage.
func (s *Server) stageThrottleForm(w http.ResponseWriter, r *http.Request, sess *session) {
	c, cancel := ctx(r)
	defer cancel()
	id, stage := r.PathValue("id"), r.PostFormValue("stage")
	back := Prefix + "apis/" + url.PathEscape(id)
	target := strings.TrimSpace(r.PostFormValue("method"))
	if target == "" {
		target = "*/*"
	}
	// A resource path in a patch path has its slashes escaped as ~1, as AWS wants them.
	if target != "*/*" {
		i := strings.LastIndex(target, "/")
		if i <= 0 {
			http.Redirect(w, r, back+"?error="+url.QueryEscape("Write the method as /resource/path/GET, or leave it empty for every method."), http.StatusSeeOther)
			return
		}
		target = strings.ReplaceAll(target[:i], "/", "~1") + target[i:]
	}
	_, err := s.client(sess).UpdateStage(c, &apigateway.UpdateStageInput{RestApiId: &id, StageName: &stage, PatchOperations: []types.PatchOperation{
		{Op: types.OpReplace, Path: aws.String("/" + target + "/throttling/rateLimit"), Value: aws.String(strings.TrimSpace(r.PostFormValue("rate")))},
		{Op: types.OpReplace, Path: aws.String("/" + target + "/throttling/burstLimit"), Value: aws.String(strings.TrimSpace(r.PostFormValue("burst")))},
	}})
	if err != nil {
		http.Redirect(w, r, back+"?error="+url.QueryEscape(apiError(err)), http.StatusSeeOther)
		return
	}
	http.Redirect(w, r, back+"?flash="+url.QueryEscape("Stage "+stage+" throttle set."), http.StatusSeeOther)
}
