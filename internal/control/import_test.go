package control

import (
	"context"
	"errors"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tollgate/tollgate/internal/apigw"
	"github.com/tollgate/tollgate/internal/store/sqlite"
	"github.com/tollgate/tollgate/internal/store/storetest"
)

const importRegion = "us-east-1"

func newImportService(t *testing.T) *Service {
	t.Helper()
	st, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "import.db"), storetest.Keys)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	now := time.Date(2026, 9, 13, 12, 0, 0, 0, time.UTC)
	return New(st, Config{AccountID: "123456789012"}, func() time.Time { return now })
}

// Documents shared by the import tests. original has /pets GET (MOCK) and /old GET; update has
// /pets GET (HTTP) and POST, and /new.
const (
	importOriginal = `{"openapi":"3.0.1","info":{"title":"original","description":"first","version":"1"},
		"x-amazon-apigateway-binary-media-types":["image/png"],
		"paths":{"/pets":{"get":{"x-amazon-apigateway-integration":{"type":"MOCK"}}},"/old":{"get":{}}}}`
	importUpdate = `swagger: "2.0"
info: {title: updated, version: 2}
x-amazon-apigateway-binary-media-types: [image/jpeg, image/png]
paths:
  /pets:
    get:
      responses: {}
      x-amazon-apigateway-integration: {type: http, httpMethod: GET, uri: "http://backend/pets"}
    post:
      responses: {}
  /new:
    get:
      responses: {}
`
	importWarns = `{"openapi":"3.0.1","info":{"title":"w","version":"1"},"x-amazon-apigateway-gateway-responses":{"NOPE":{}},
		"x-amazon-apigateway-request-validators":{},"paths":{"/a":{"get":{}}}}`
)

// paths lists "path VERB,VERB" lines of an API, sorted.
func apiPaths(a *apigw.RestApi) []string {
	var out []string
	for _, r := range a.Resources {
		line := a.Path(r.ID)
		var verbs []string
		for v := range r.Methods {
			verbs = append(verbs, v)
		}
		slices.Sort(verbs)
		if len(verbs) > 0 {
			line += " " + strings.Join(verbs, ",")
		}
		out = append(out, line)
	}
	slices.Sort(out)
	return out
}

func wantImportErr(t *testing.T, err error, kind apigw.Kind, msg string) {
	t.Helper()
	var e *apigw.Error
	if !errors.As(err, &e) || e.Kind != kind || e.Message != msg {
		t.Fatalf("err = %v, want kind %v %q", err, kind, msg)
	}
}

func TestImportRestApiEndpointTypes(t *testing.T) {
	cases := []struct {
		param, wantType, wantIP, wantErr string
	}{
		{"", "EDGE", "ipv4", ""},
		{"regional", "REGIONAL", "ipv4", ""},
		{"PRIVATE", "PRIVATE", "dualstack", ""},
		{"bogus", "", "", "Invalid EndpointTypes specified. Valid options are REGIONAL,EDGE,PRIVATE"},
		{"EDGE,REGIONAL", "", "", "Cannot create an api with multiple Endpoint Types."},
	}
	for _, tc := range cases {
		t.Run("types="+tc.param, func(t *testing.T) {
			s := newImportService(t)
			a, warnings, err := s.ImportRestApi(context.Background(), importRegion, ImportInput{Body: []byte(importOriginal), EndpointConfigurationTypes: tc.param})
			if tc.wantErr != "" {
				wantImportErr(t, err, apigw.KindBadRequest, tc.wantErr)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			ec := a.EndpointConfiguration
			if !slices.Equal(ec.Types, []string{tc.wantType}) || ec.IPAddressType != tc.wantIP || len(warnings) != 0 {
				t.Errorf("endpoint %+v warnings %q", ec, warnings)
			}
		})
	}
}

func TestImportRestApiStores(t *testing.T) {
	s := newImportService(t)
	ctx := context.Background()
	a, _, err := s.ImportRestApi(ctx, importRegion, ImportInput{Body: []byte(importOriginal)})
	if err != nil {
		t.Fatal(err)
	}
	got, err := s.GetRestApi(ctx, importRegion, a.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Name != "original" || got.Description != "first" || got.Version != "1" || got.ApiKeySource != "HEADER" ||
		!slices.Equal(got.BinaryMediaTypes, []string{"image/png"}) || !slices.Equal(got.Models, []string{"Empty", "Error"}) {
		t.Errorf("stored API = %+v", got)
	}
	if want := []string{"/", "/old GET", "/pets GET"}; !slices.Equal(apiPaths(got), want) {
		t.Errorf("paths = %q, want %q", apiPaths(got), want)
	}
	if root := got.Resource(got.RootResourceID); root == nil || root.ParentID != "" || len(got.RootResourceID) != apigw.RootResourceIDLen {
		t.Errorf("root resource %q missing from %+v", got.RootResourceID, got.Resources)
	}
}

// TestImportGatewayResponses: x-amazon-apigateway-gateway-responses becomes the API's gateway
// responses (members left out take the type's defaults); what PutGatewayResponse refuses, the
// import refuses, creating nothing.
func TestImportGatewayResponses(t *testing.T) {
	s := newImportService(t)
	ctx := context.Background()
	doc := func(gr string) []byte {
		return []byte(`{"openapi":"3.0.1","info":{"title":"g","version":"1"},"x-amazon-apigateway-gateway-responses":` + gr +
			`,"paths":{"/a":{"get":{"x-amazon-apigateway-integration":{"type":"mock","requestTemplates":{"application/json":"{\"statusCode\": 200}"}}}}}}`)
	}
	a, _, err := s.ImportRestApi(ctx, importRegion, ImportInput{Body: doc(`{"THROTTLED":{"statusCode":"503","responseParameters":{"gatewayresponse.header.Retry-After":"'5'"}},"DEFAULT_4XX":{"responseTemplates":{"text/plain":"no"}}}`), FailOnWarnings: true})
	if err != nil {
		t.Fatal(err)
	}
	th, def, err := s.GetGatewayResponse(ctx, importRegion, a.ID, "THROTTLED")
	if err != nil || def || th.StatusCode != "503" || th.ResponseParameters["gatewayresponse.header.Retry-After"] != "'5'" ||
		th.ResponseTemplates["application/json"] != apigw.DefaultGatewayTemplate {
		t.Errorf("THROTTLED = %+v default %v err %v", th, def, err)
	}
	// QUOTA_EXCEEDED inherits the imported DEFAULT_4XX.
	if q, def, _ := s.GetGatewayResponse(ctx, importRegion, a.ID, "QUOTA_EXCEEDED"); !def || q.ResponseTemplates["text/plain"] != "no" || q.StatusCode != "429" {
		t.Errorf("QUOTA_EXCEEDED = %+v default %v", q, def)
	}
	for _, bad := range []string{`{"THROTTLED":{"statusCode":"999"}}`, `{"THROTTLED":{"responseParameters":{"method.response.header.x":"'a'"}}}`} {
		before, _ := s.GetRestApis(ctx, importRegion, "", 25)
		if _, _, err := s.ImportRestApi(ctx, importRegion, ImportInput{Body: doc(bad)}); err == nil {
			t.Errorf("import of %s accepted", bad)
		}
		if after, _ := s.GetRestApis(ctx, importRegion, "", 25); len(after.Items) != len(before.Items) {
			t.Errorf("a refused import of %s created an API", bad)
		}
	}
}

func TestImportRestApiFailOnWarnings(t *testing.T) {
	s := newImportService(t)
	ctx := context.Background()
	_, _, err := s.ImportRestApi(ctx, importRegion, ImportInput{Body: []byte(importWarns), FailOnWarnings: true})
	wantImportErr(t, err, apigw.KindBadRequest, "Warnings found during import:\n\t"+
		"Invalid gateway response type 'NOPE' in x-amazon-apigateway-gateway-responses; ignored\n\t"+
		"Request validators are not supported: x-amazon-apigateway-request-validators was ignored")
	if pg, _ := s.GetRestApis(ctx, importRegion, "", 25); len(pg.Items) != 0 {
		t.Errorf("a failed import created %d APIs", len(pg.Items))
	}
	_, warnings, err := s.ImportRestApi(ctx, importRegion, ImportInput{Body: []byte(importWarns)})
	if err != nil || len(warnings) != 2 {
		t.Errorf("err %v warnings %q, want the two warnings", err, warnings)
	}
}

func TestPutRestApiErrors(t *testing.T) {
	s := newImportService(t)
	ctx := context.Background()
	a, _, err := s.ImportRestApi(ctx, importRegion, ImportInput{Body: []byte(importOriginal)})
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name, id, body, mode string
		kind                 apigw.Kind
		msg                  string
	}{
		{"bad body before lookup", "nosuchapi1", "{", "", apigw.KindBadRequest, "Invalid OpenAPI input."},
		{"unknown API", "nosuchapi1", importUpdate, "", apigw.KindNotFound, "Invalid API identifier specified 123456789012:nosuchapi1"},
		{"bad mode", a.ID, importUpdate, "replace", apigw.KindValidation,
			"1 validation error detected: Value 'replace' at 'mode' failed to satisfy constraint: Member must satisfy enum value set: [merge, overwrite]"},
		{"variable sibling clash on merge", a.ID, `{"openapi":"3.0.0","info":{"title":"x"},"paths":{"/old/{a}":{},"/old/{b}":{}}}`, "merge",
			apigw.KindBadRequest, "A sibling ({a}) of this resource already has a variable path part -- only one is allowed"},
		{"fail on warnings", a.ID, importWarns, "overwrite", apigw.KindBadRequest, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := s.PutRestApi(ctx, importRegion, tc.id, ImportInput{Body: []byte(tc.body), Mode: tc.mode, FailOnWarnings: true})
			if tc.msg == "" {
				if apigw.KindOf(err) != tc.kind {
					t.Fatalf("err = %v, want kind %v", err, tc.kind)
				}
			} else {
				wantImportErr(t, err, tc.kind, tc.msg)
			}
		})
	}
	got, _ := s.GetRestApi(ctx, importRegion, a.ID)
	if want := []string{"/", "/old GET", "/pets GET"}; got.Name != "original" || !slices.Equal(apiPaths(got), want) {
		t.Errorf("failed updates changed the API: %s %q", got.Name, apiPaths(got))
	}
}

func TestPutRestApiMerge(t *testing.T) {
	s := newImportService(t)
	ctx := context.Background()
	a, _, err := s.ImportRestApi(ctx, importRegion, ImportInput{Body: []byte(importOriginal)})
	if err != nil {
		t.Fatal(err)
	}
	petsID := pathIDs(a.Resources)["/pets"]
	got, _, err := s.PutRestApi(ctx, importRegion, a.ID, ImportInput{Body: []byte(importUpdate)})
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"/", "/new GET", "/old GET", "/pets GET,POST"}; !slices.Equal(apiPaths(got), want) {
		t.Errorf("paths = %q, want %q", apiPaths(got), want)
	}
	if got.Name != "updated" || got.Version != "2" || got.Description != "first" ||
		!slices.Equal(got.BinaryMediaTypes, []string{"image/png", "image/jpeg"}) {
		t.Errorf("top level = %q %q %q %q", got.Name, got.Version, got.Description, got.BinaryMediaTypes)
	}
	pets := got.Resource(petsID)
	if pets == nil || got.Path(petsID) != "/pets" {
		t.Fatalf("/pets lost its id %s", petsID)
	}
	if in := pets.Methods["GET"].Integration; in == nil || in.Type != "HTTP" || in.CacheNamespace != petsID {
		t.Errorf("GET /pets integration = %+v, want the document's HTTP one", in)
	}
	if got.RootResourceID != a.RootResourceID || got.Resource(a.RootResourceID) == nil {
		t.Errorf("root id changed")
	}
}

func TestPutRestApiOverwrite(t *testing.T) {
	s := newImportService(t)
	ctx := context.Background()
	a, _, err := s.ImportRestApi(ctx, importRegion, ImportInput{Body: []byte(importOriginal), EndpointConfigurationTypes: "REGIONAL"})
	if err != nil {
		t.Fatal(err)
	}
	got, warnings, err := s.PutRestApi(ctx, importRegion, a.ID, ImportInput{Body: []byte(importUpdate), Mode: "overwrite"})
	if err != nil || len(warnings) != 0 {
		t.Fatal(err, warnings)
	}
	if want := []string{"/", "/new GET", "/pets GET,POST"}; !slices.Equal(apiPaths(got), want) {
		t.Errorf("paths = %q, want %q", apiPaths(got), want)
	}
	if got.Name != "updated" || got.Description != "" || !slices.Equal(got.BinaryMediaTypes, []string{"image/jpeg", "image/png"}) ||
		!slices.Equal(got.EndpointConfiguration.Types, []string{"REGIONAL"}) || got.RootResourceID != a.RootResourceID {
		t.Errorf("overwritten API = %+v", got)
	}
	stored, _ := s.GetRestApi(ctx, importRegion, a.ID)
	if !slices.Equal(apiPaths(stored), apiPaths(got)) {
		t.Errorf("stored paths %q differ from the response's %q", apiPaths(stored), apiPaths(got))
	}
}

// TestImportIntegrationChecks: an imported integration passes PutIntegration's checks on what an
// AWS integration calls and with which role, or the import fails listing every failing method in
// AWS's words, and nothing is created or changed (ImportRestApi and PutRestApi alike).
func TestImportIntegrationChecks(t *testing.T) {
	const own = "arn:aws:iam::123456789012:role/apigw" // the service's account
	doc := func(integrations ...string) string {
		var b strings.Builder
		b.WriteString(`{"openapi":"3.0.1","info":{"title":"aws","version":"1"},"paths":{`)
		for i, integ := range integrations {
			if i > 0 {
				b.WriteByte(',')
			}
			b.WriteString(`"/p` + string(rune('0'+i)) + `":{"post":{"x-amazon-apigateway-integration":` + integ + `}}`)
		}
		b.WriteString(`}}`)
		return b.String()
	}
	aws := func(uri, creds string) string {
		s := `{"type":"aws","httpMethod":"POST","uri":"` + uri + `"`
		if creds != "" {
			s += `,"credentials":"` + creds + `"`
		}
		return s + `}`
	}
	const (
		s3     = "arn:aws:apigateway:us-east-1:s3:path/bucket/key"
		lambda = "arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/arn:aws:lambda:us-east-1:123456789012:function:f/invocations"
		prefix = "Errors found during import:\n\tUnable to put integration on 'POST' for resource at path "
	)
	cases := []struct {
		name, doc, msg string // msg "" = accepted
	}{
		{"s3 with own role", doc(aws(s3, own)), ""},
		{"lambda needs no role", doc(aws(lambda, "")), ""},
		{"caller credentials", doc(aws(s3, "arn:aws:iam::*:user/*")), ""},
		{"s3 without role", doc(aws(s3, "")), prefix + "'/p0': Role ARN must be specified for AWS integrations"},
		{"no path or action", doc(aws("arn:aws:apigateway:us-east-1:s3", own)), prefix + "'/p0': AWS ARN for integration must contain path or action"},
		{"a role as uri", doc(aws("arn:aws:iam::123456789012:role/r", own)), prefix + "'/p0': AWS ARN for integration must contain path or action"},
		{"not an arn", doc(aws("lambda", own)), prefix + "'/p0': Invalid ARN specified in the request"},
		{"another account's role", doc(aws(s3, "arn:aws:iam::999999999999:role/theirs")), prefix + "'/p0': Cross-account pass role is not allowed."},
		{"another account's role on http", doc(`{"type":"http","httpMethod":"GET","uri":"http://backend/","credentials":"arn:aws:iam::999999999999:role/theirs"}`),
			prefix + "'/p0': Cross-account pass role is not allowed."},
		{"aws proxy to s3", doc(`{"type":"aws_proxy","httpMethod":"POST","uri":"` + s3 + `","credentials":"` + own + `"}`),
			prefix + "'/p0': Integrations of type 'AWS_PROXY' currently only supports Lambda function and Firehose stream invocations."},
		{"every failure listed", doc(aws(s3, own), aws(s3, ""), aws("arn:aws:apigateway:us-east-1:s3", own)),
			prefix + "'/p1': Role ARN must be specified for AWS integrations\n\t" +
				"Unable to put integration on 'POST' for resource at path '/p2': AWS ARN for integration must contain path or action"},
	}
	s := newImportService(t)
	ctx := context.Background()
	base, _, err := s.ImportRestApi(ctx, importRegion, ImportInput{Body: []byte(importOriginal)})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			before, _ := s.GetRestApis(ctx, importRegion, "", 500)
			a, _, err := s.ImportRestApi(ctx, importRegion, ImportInput{Body: []byte(tc.doc), FailOnWarnings: true})
			after, _ := s.GetRestApis(ctx, importRegion, "", 500)
			if tc.msg == "" {
				if err != nil {
					t.Fatalf("ImportRestApi: %v", err)
				}
				if err := s.DeleteRestApi(ctx, importRegion, a.ID); err != nil {
					t.Fatal(err)
				}
			} else {
				wantImportErr(t, err, apigw.KindBadRequest, tc.msg)
				if len(after.Items) != len(before.Items) {
					t.Fatalf("a refused import created an API")
				}
			}
			for _, mode := range []string{PutModeMerge, PutModeOverwrite} {
				_, _, err := s.PutRestApi(ctx, importRegion, base.ID, ImportInput{Body: []byte(tc.doc), Mode: mode})
				if tc.msg == "" {
					if err != nil {
						t.Fatalf("PutRestApi %s: %v", mode, err)
					}
					continue
				}
				wantImportErr(t, err, apigw.KindBadRequest, tc.msg)
				got, _ := s.GetRestApi(ctx, importRegion, base.ID)
				if want := []string{"/", "/old GET", "/pets GET"}; !slices.Equal(apiPaths(got), want) {
					t.Fatalf("a refused %s changed the API: %q", mode, apiPaths(got))
				}
			}
			if tc.msg == "" { // put the base API back for the next case
				if _, _, err := s.PutRestApi(ctx, importRegion, base.ID, ImportInput{Body: []byte(importOriginal), Mode: PutModeOverwrite}); err != nil {
					t.Fatal(err)
				}
			}
		})
	}
}
