package control

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/tollgate/tollgate/internal/apigw"
	"github.com/tollgate/tollgate/internal/apigw/patch"
	"github.com/tollgate/tollgate/internal/openapi"
	"github.com/tollgate/tollgate/internal/store"
)

// PutRestApi modes (addendum §7.2).
const (
	PutModeMerge     = "merge"
	PutModeOverwrite = "overwrite"
)

// ImportInput is an ImportRestApi / PutRestApi request: the document is the raw body, the rest
// comes from the query string (failonwarnings, mode and the spread-out `parameters` map).
type ImportInput struct {
	Body           []byte
	FailOnWarnings bool
	// Mode is PutRestApi's merge (default) or overwrite; ImportRestApi ignores it.
	Mode string
	// BasePath is the basepath parameter: ignore (default), prepend or split.
	BasePath string
	// EndpointConfigurationTypes is ImportRestApi's endpoint type (EDGE by default).
	EndpointConfigurationTypes string
	// Ignore is the ignore parameter ("documentation"); documentation parts never warn, so it
	// changes nothing.
	Ignore string
}

func (s *Service) importOptions(in ImportInput) openapi.Options {
	return openapi.Options{BasePath: in.BasePath, MaxResources: s.MaxResourcesPerAPI()}
}

// parseDefinition parses an import's document within API Gateway's limits (6 MB, the
// resources per API), refusing an oversized one before it is built.
func (s *Service) parseDefinition(in ImportInput) (*openapi.Document, error) {
	return openapi.ParseLimited(in.Body, openapi.Limits{MaxBytes: openapi.MaxDefinitionBytes, MaxResources: s.MaxResourcesPerAPI()})
}

// MaxResourcesPerAPI is the resource limit of one API, the root included (--max-resources-per-api;
// AWS's default quota, 300, when unset).
func (s *Service) MaxResourcesPerAPI() int {
	if s.cfg.MaxResourcesPerAPI > 0 {
		return s.cfg.MaxResourcesPerAPI
	}
	return openapi.DefaultMaxResources
}

// ImportRestApi creates an API from an OpenAPI document (addendum §7.1). It returns the API and
// the import warnings; with FailOnWarnings, warnings are a 400 and nothing is created.
func (s *Service) ImportRestApi(ctx context.Context, region string, in ImportInput) (*apigw.RestApi, []string, error) {
	doc, err := s.parseDefinition(in)
	if err != nil {
		return nil, nil, err
	}
	endpointType, err := importEndpointType(in.EndpointConfigurationTypes)
	if err != nil {
		return nil, nil, err
	}
	a := NewRestApi("", s.Now())
	opts := s.importOptions(in)
	opts.RootID = a.RootResourceID
	opts.NewID = freshIDs(a.Resources)
	res, err := doc.Convert(opts)
	if err != nil {
		return nil, nil, err
	}
	if err := s.checkImportedIntegrations(res.Resources); err != nil {
		return nil, nil, err
	}
	if res.Name == "" {
		return nil, nil, apigw.BadRequest("%s The document has no info.title to name the API.", openapi.MsgInvalidInput)
	}
	if err := refusePolicy(res.Policy); err != nil {
		return nil, nil, err
	}
	if err := failOnWarnings(in, res.Warnings); err != nil {
		return nil, nil, err
	}
	if err := checkImportedGatewayResponses(res.GatewayResponses); err != nil {
		return nil, nil, err
	}
	if err := s.checkImportedAuthorizers(res.Authorizers); err != nil {
		return nil, nil, err
	}
	a.Authorizers = res.Authorizers
	a.Name, a.Description, a.Version = res.Name, res.Description, res.Version
	if res.ApiKeySource != "" {
		a.ApiKeySource = res.ApiKeySource
	}
	a.BinaryMediaTypes = res.BinaryMediaTypes
	a.MinimumCompressionSize = res.MinimumCompressionSize
	a.Policy = compactPolicy(res.Policy)
	a.GatewayResponses = res.GatewayResponses
	a.EndpointConfiguration = apigw.EndpointConfiguration{
		Types:          []string{endpointType},
		IPAddressType:  defaultIPAddressType(endpointType, ""),
		VpcEndpointIDs: res.VpcEndpointIDs,
	}
	if res.DisableExecuteApiEndpoint != nil {
		a.DisableExecuteApiEndpoint = *res.DisableExecuteApiEndpoint
	}
	a.Resources = res.Resources
	a.Models = unionStrings(DefaultModels, res.Models)
	err = s.update(ctx, region, func(tx store.Tx) error { return PutNewRestApi(tx, a) })
	if err != nil {
		return nil, nil, err
	}
	return a, res.Warnings, nil
}

// importEndpointType reads endpointConfigurationTypes (one of EDGE, REGIONAL, PRIVATE).
func importEndpointType(v string) (string, error) {
	if v == "" {
		return EndpointEdge, nil
	}
	types := strings.Split(v, ",")
	if len(types) > 1 {
		return "", apigw.BadRequest("Cannot create an api with multiple Endpoint Types.")
	}
	t := strings.ToUpper(strings.TrimSpace(types[0]))
	if t != EndpointEdge && t != EndpointRegional && t != EndpointPrivate {
		return "", apigw.BadRequest("Invalid EndpointTypes specified. Valid options are REGIONAL,EDGE,PRIVATE")
	}
	return t, nil
}

// failOnWarnings turns warnings into the 400 AWS answers when failonwarnings=true (addendum §7.3,
// A14: one warning per line, each indented by a tab).
func failOnWarnings(in ImportInput, warnings []string) error {
	if !in.FailOnWarnings || len(warnings) == 0 {
		return nil
	}
	return apigw.BadRequest("Warnings found during import:\n\t%s", strings.Join(warnings, "\n\t"))
}

// PutRestApi updates an API from an OpenAPI document, merging or overwriting (addendum §7.2, A15).
// The body is parsed before the API is looked up, as AWS does; everything else happens in one
// transaction, so an error or a failing warning leaves the API as it was.
func (s *Service) PutRestApi(ctx context.Context, region, id string, in ImportInput) (*apigw.RestApi, []string, error) {
	doc, err := s.parseDefinition(in)
	if err != nil {
		return nil, nil, err
	}
	mode := in.Mode
	switch mode {
	case "":
		mode = PutModeMerge
	case PutModeMerge, PutModeOverwrite:
	default:
		return nil, nil, patch.ValidationErrors([]string{fmt.Sprintf(
			"Value '%s' at 'mode' failed to satisfy constraint: Member must satisfy enum value set: [merge, overwrite]", mode)})
	}
	var (
		out      *apigw.RestApi
		warnings []string
	)
	err = s.update(ctx, region, func(tx store.Tx) error {
		cur, err := s.getAPI(tx, id)
		if err != nil {
			return err
		}
		opts := s.importOptions(in)
		opts.RootID = cur.RootResourceID
		opts.ExistingIDs = pathIDs(cur.Resources)
		opts.ExistingAuthorizers = map[string]string{}
		for _, au := range cur.Authorizers {
			opts.ExistingAuthorizers[au.Name] = au.ID
		}
		opts.NewID = freshIDs(cur.Resources)
		res, err := doc.Convert(opts)
		if err != nil {
			return err
		}
		if err := s.checkImportedIntegrations(res.Resources); err != nil {
			return err
		}
		if err := refusePolicy(res.Policy); err != nil {
			return err
		}
		if err := checkImportedGatewayResponses(res.GatewayResponses); err != nil {
			return err
		}
		if err := s.checkImportedAuthorizers(res.Authorizers); err != nil {
			return err
		}
		if err := failOnWarnings(in, res.Warnings); err != nil {
			return err
		}
		next := copyRestApiSettings(cur)
		if mode == PutModeOverwrite {
			overwriteApi(next, res)
		} else if err := mergeApi(next, cur, res); err != nil {
			return err
		}
		if len(next.Resources) > s.MaxResourcesPerAPI() { // a merge adds to what the API has
			return openapi.ErrTooManyResources()
		}
		if err := tx.PutRestApi(next); err != nil {
			return err
		}
		out, warnings = next, res.Warnings
		return nil
	})
	if err != nil {
		return nil, nil, err
	}
	return out, warnings, nil
}

// checkImportedIntegrations applies PutIntegration's checks on what an AWS integration calls
// and with which role (validateAWSTarget, checkPassRole) to the integrations of a converted
// document, which the importer builds without them: otherwise an import would store a role of
// another account, or an S3 call without a role, that PutIntegration refuses. rs is the
// document's tree (root included). Every failing method is listed, in AWS's words for a failed
// import: "Errors found during import:" then one "Unable to put integration on 'VERB' for
// resource at path '/p': <PutIntegration's message>" per line.
func (s *Service) checkImportedIntegrations(rs []*apigw.Resource) error {
	var errs []string
	for _, r := range rs {
		for _, verb := range sortedKeys(r.Methods) {
			i := r.Methods[verb].Integration
			if i == nil {
				continue
			}
			err := s.checkPassRole(i.Credentials)
			if err == nil && (i.Type == apigw.IntegrationAWS || i.Type == apigw.IntegrationAWSProxy) {
				err = validateAWSTarget(i)
			}
			var ae *apigw.Error
			if errors.As(err, &ae) {
				errs = append(errs, fmt.Sprintf("Unable to put integration on '%s' for resource at path '%s': %s",
					verb, apigw.ResourcePath(rs, r.ID), ae.Message))
			} else if err != nil {
				return err
			}
		}
	}
	if len(errs) == 0 {
		return nil
	}
	return apigw.BadRequest("Errors found during import:\n\t%s", strings.Join(errs, "\n\t"))
}

// freshIDs returns a resource-id generator that never repeats an id of rs or one it returned
// before: a collision would make a merge put methods on the wrong resource.
func freshIDs(rs []*apigw.Resource) func() string {
	used := make(map[string]bool, len(rs))
	for _, r := range rs {
		used[r.ID] = true
	}
	return func() string {
		for {
			id := apigw.NewID(apigw.ResourceIDLen)
			if !used[id] {
				used[id] = true
				return id
			}
		}
	}
}

// pathIDs maps every resource path to its id, so that the document's copy of a path keeps it.
func pathIDs(rs []*apigw.Resource) map[string]string {
	out := make(map[string]string, len(rs))
	for _, r := range rs {
		out[apigw.ResourcePath(rs, r.ID)] = r.ID
	}
	return out
}

// overwriteApi makes the API exactly the document: the resource tree, and the top-level settings
// Terraform lists as reset by an overwrite (name only when the document has one: an API always has
// a name). The endpoint type, tags, stages and deployments are not touched (addendum §7.2).
func overwriteApi(a *apigw.RestApi, res *openapi.Result) {
	if res.Name != "" {
		a.Name = res.Name
	}
	a.Description, a.Version = res.Description, res.Version
	a.ApiKeySource = res.ApiKeySource
	if a.ApiKeySource == "" {
		a.ApiKeySource = apigw.ApiKeySourceHeader
	}
	a.BinaryMediaTypes = res.BinaryMediaTypes
	a.MinimumCompressionSize = res.MinimumCompressionSize
	a.Policy = compactPolicy(res.Policy)
	a.GatewayResponses = res.GatewayResponses
	a.Authorizers = res.Authorizers
	applyEndpointExtension(a, res)
	a.Resources = res.Resources
	a.Models = unionStrings(DefaultModels, res.Models)
}

// mergeApi adds the document to the API: its methods replace the API's methods of the same verb
// on the same path, new paths are added under the CreateResource rules, and top-level settings
// change only where the document sets them; binary media types are the union, existing first.
func mergeApi(a, cur *apigw.RestApi, res *openapi.Result) error {
	if res.Name != "" {
		a.Name = res.Name
	}
	if res.Version != "" {
		a.Version = res.Version
	}
	if res.Description != "" {
		a.Description = res.Description
	}
	if res.ApiKeySource != "" {
		a.ApiKeySource = res.ApiKeySource
	}
	a.BinaryMediaTypes = unionStrings(a.BinaryMediaTypes, res.BinaryMediaTypes)
	if res.MinimumCompressionSize != nil {
		a.MinimumCompressionSize = res.MinimumCompressionSize
	}
	if res.Policy != "" {
		a.Policy = compactPolicy(res.Policy)
	}
	if len(res.GatewayResponses) > 0 {
		merged := apigw.CloneGatewayResponses(a.GatewayResponses)
		if merged == nil {
			merged = map[string]*apigw.GatewayResponse{}
		}
		for t, gr := range res.GatewayResponses {
			merged[t] = gr
		}
		a.GatewayResponses = merged
	}
	applyEndpointExtension(a, res)
	a.Authorizers = mergeAuthorizers(cur.Authorizers, res.Authorizers)
	a.Models = unionStrings(a.Models, res.Models)
	a.Resources = apigw.CloneResources(cur.Resources)
	for _, r := range res.Resources {
		if existing := a.Resource(r.ID); existing != nil {
			for verb, m := range r.Methods {
				if existing.Methods == nil {
					existing.Methods = map[string]*apigw.Method{}
				}
				existing.Methods[verb] = m
			}
			continue
		}
		parent := a.Resource(r.ParentID)
		if parent == nil {
			return fmt.Errorf("control: merged resource %s has no parent %s", r.ID, r.ParentID)
		}
		if err := apigw.CheckChild(a.Resources, parent, r.PathPart, ""); err != nil {
			return err
		}
		a.Resources = append(a.Resources, r)
	}
	return nil
}

// applyEndpointExtension applies x-amazon-apigateway-endpoint-configuration where the document has it.
func applyEndpointExtension(a *apigw.RestApi, res *openapi.Result) {
	if res.DisableExecuteApiEndpoint != nil {
		a.DisableExecuteApiEndpoint = *res.DisableExecuteApiEndpoint
	}
	if res.VpcEndpointIDs != nil {
		a.EndpointConfiguration.VpcEndpointIDs = append([]string(nil), res.VpcEndpointIDs...)
	}
}

// unionStrings returns a followed by the elements of b not in a; nil when both are empty.
func unionStrings(a, b []string) []string {
	var out []string
	for _, list := range [][]string{a, b} {
		for _, s := range list {
			if !slices.Contains(out, s) {
				out = append(out, s)
			}
		}
	}
	return out
}

// checkImportedGatewayResponses refuses what PutGatewayResponse refuses: a status code outside
// [1-5]xx and mappings the data plane could not apply.
func checkImportedGatewayResponses(grs map[string]*apigw.GatewayResponse) error {
	for _, t := range sortedKeys(grs) {
		gr := grs[t]
		if gr.StatusCode != "" {
			if err := validateStatusCode(gr.StatusCode); err != nil {
				return err
			}
		}
		if err := validateGatewayResponseParameters(gr.ResponseParameters); err != nil {
			return err
		}
	}
	return nil
}

// checkImportedAuthorizers refuses what CreateAuthorizer refuses.
func (s *Service) checkImportedAuthorizers(list []*apigw.Authorizer) error {
	for _, a := range list {
		if err := s.ValidateAuthorizer(a); err != nil {
			return err
		}
	}
	return nil
}

// mergeAuthorizers is PutRestApi merge's authorizer set: the document's replace the API's of the
// same name (keeping the id, which Convert reused), the others are kept.
func mergeAuthorizers(cur, doc []*apigw.Authorizer) []*apigw.Authorizer {
	out := apigw.CloneAuthorizers(cur)
	for _, a := range doc {
		if i := slices.IndexFunc(out, func(x *apigw.Authorizer) bool { return x.ID == a.ID }); i >= 0 {
			out[i] = a
		} else {
			out = append(out, a)
		}
	}
	return out
}

// ExportStage returns what GetExport writes: the API's settings and the deployment the stage
// serves (an export shows what is deployed, not the live tree).
func (s *Service) ExportStage(ctx context.Context, region, apiID, stage string) (*apigw.RestApi, *apigw.Deployment, error) {
	var a *apigw.RestApi
	var d *apigw.Deployment
	err := s.view(ctx, region, func(tx store.Tx) error {
		var err error
		if a, err = s.getAPI(tx, apiID); err != nil {
			return err
		}
		st, err := loadStage(tx, apiID, stage)
		if err != nil {
			return err
		}
		d, err = tx.GetDeployment(apiID, st.DeploymentID)
		return notFound(err, apigw.NotFound(apigw.MsgInvalidDeployment))
	})
	return a, d, err
}
