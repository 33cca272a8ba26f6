package control

import (
	"context"
	"regexp"
	"sort"
	"strings"

	"github.com/tollgate/tollgate/internal/apigw"
	"github.com/tollgate/tollgate/internal/apigw/patch"
	"github.com/tollgate/tollgate/internal/store"
)

// GatewayResponseInput is the PutGatewayResponse body. A member left out takes the type's
// default, not the class's customisation (recorded: AUTHORIZER_FAILURE put without a status after
// DEFAULT_5XX got 599 answers 500).
type GatewayResponseInput struct {
	StatusCode         *string           `json:"statusCode"`
	ResponseParameters map[string]string `json:"responseParameters"`
	ResponseTemplates  map[string]string `json:"responseTemplates"`
}

// checkGatewayResponseType is the ValidationException of a type outside the enum (recorded
// text, listed in AWS's order).
func checkGatewayResponseType(t string) error {
	if apigw.ValidGatewayResponseType(t) {
		return nil
	}
	return patch.ValidationErrors([]string{enumError(t, "responseType", apigw.GatewayResponseTypes)})
}

// gatewayResponseParam is a responseParameters key: a header of the gateway response.
var gatewayResponseParam = regexp.MustCompile(`^gatewayresponse\.header\.[A-Za-z0-9!#$%&'*+.^_` + "`" + `|~-]+$`)

// gatewayResponseValue is a responseParameters value the data plane can compute: a quoted
// static value, or a request path, query-string or header value.
var gatewayResponseValue = regexp.MustCompile(`^('[^']*'|method\.request\.(path|querystring|header)\.[^.].*)$`)

// validateGatewayResponseParameters refuses mappings the data plane could not apply, with the
// mapping-expression text AWS uses for method and integration mappings.
func validateGatewayResponseParameters(params map[string]string) error {
	var bad []string
	for _, k := range sortedKeys(params) {
		if !gatewayResponseParam.MatchString(k) {
			bad = append(bad, k)
		} else if !gatewayResponseValue.MatchString(params[k]) {
			bad = append(bad, params[k])
		}
	}
	if len(bad) > 0 {
		return invalidMapping(bad)
	}
	return nil
}

// gatewayAPI loads the API whose gateway responses are read or written.
func (s *Service) gatewayAPI(tx store.Tx, apiID, t string) (*apigw.RestApi, error) {
	a, err := s.getAPI(tx, apiID)
	if err != nil {
		return nil, err
	}
	return a, checkGatewayResponseType(t)
}

// PutGatewayResponse customises one gateway response type of an API (201), replacing what was
// set for it: members left out take the type's defaults.
func (s *Service) PutGatewayResponse(ctx context.Context, region, apiID, t string, in GatewayResponseInput) (*apigw.GatewayResponse, error) {
	var out *apigw.GatewayResponse
	err := s.update(ctx, region, func(tx store.Tx) error {
		a, err := s.gatewayAPI(tx, apiID, t)
		if err != nil {
			return err
		}
		gr := apigw.NewDefaultGatewayResponse(t)
		if in.StatusCode != nil {
			if err := validateStatusCode(*in.StatusCode); err != nil {
				return err
			}
			gr.StatusCode = *in.StatusCode
		}
		if in.ResponseParameters != nil {
			if err := validateGatewayResponseParameters(in.ResponseParameters); err != nil {
				return err
			}
			gr.ResponseParameters = in.ResponseParameters
		}
		if in.ResponseTemplates != nil {
			gr.ResponseTemplates = in.ResponseTemplates
		}
		out = gr.Clone()
		return putGatewayResponses(tx, a, t, gr)
	})
	return out, err
}

// putGatewayResponses writes API a with type t's customisation set to gr (nil: removed), on a
// copy, so the API read in this transaction is never changed in place.
func putGatewayResponses(tx store.Tx, a *apigw.RestApi, t string, gr *apigw.GatewayResponse) error {
	next := copyRestApiSettings(a)
	next.GatewayResponses = apigw.CloneGatewayResponses(a.GatewayResponses)
	if gr != nil {
		if next.GatewayResponses == nil {
			next.GatewayResponses = map[string]*apigw.GatewayResponse{}
		}
		next.GatewayResponses[t] = gr
	} else {
		delete(next.GatewayResponses, t)
	}
	if len(next.GatewayResponses) == 0 {
		next.GatewayResponses = nil
	}
	return tx.PutRestApi(next)
}

// GetGatewayResponse returns a type's response as the API answers it, with defaultResponse.
func (s *Service) GetGatewayResponse(ctx context.Context, region, apiID, t string) (*apigw.GatewayResponse, bool, error) {
	var out *apigw.GatewayResponse
	var def bool
	err := s.view(ctx, region, func(tx store.Tx) error {
		a, err := s.gatewayAPI(tx, apiID, t)
		if err != nil {
			return err
		}
		out, def = apigw.EffectiveGatewayResponse(a.GatewayResponses, t)
		return nil
	})
	return out, def, err
}

// GatewayResponseView is one entry of GetGatewayResponses.
type GatewayResponseView struct {
	*apigw.GatewayResponse
	Default bool
}

// GetGatewayResponses lists every type, customised or default, by type name.
func (s *Service) GetGatewayResponses(ctx context.Context, region, apiID string) ([]GatewayResponseView, error) {
	var out []GatewayResponseView
	err := s.view(ctx, region, func(tx store.Tx) error {
		a, err := s.getAPI(tx, apiID)
		if err != nil {
			return err
		}
		types := append([]string(nil), apigw.GatewayResponseTypes...)
		sort.Strings(types)
		for _, t := range types {
			gr, def := apigw.EffectiveGatewayResponse(a.GatewayResponses, t)
			out = append(out, GatewayResponseView{gr, def})
		}
		return nil
	})
	return out, err
}

// DeleteGatewayResponse puts a type back to its default (202); a type never customised is
// NotFound (recorded text).
func (s *Service) DeleteGatewayResponse(ctx context.Context, region, apiID, t string) error {
	return s.update(ctx, region, func(tx store.Tx) error {
		a, err := s.gatewayAPI(tx, apiID, t)
		if err != nil {
			return err
		}
		if a.GatewayResponses[t] == nil {
			return apigw.NotFound("Gateway response type not defined on api")
		}
		return putGatewayResponses(tx, a, t, nil)
	})
}

// UpdateGatewayResponse patches a type's response, starting from the type's default when it was
// not customised (recorded: the result is then a customisation). Paths: /statusCode (replace),
// /responseParameters/{name} and /responseTemplates/{content type} (add, replace, remove).
func (s *Service) UpdateGatewayResponse(ctx context.Context, region, apiID, t string, ops []patch.Op) (*apigw.GatewayResponse, error) {
	if err := patch.Validate(ops, "updateGatewayResponseInput"); err != nil {
		return nil, err
	}
	var out *apigw.GatewayResponse
	err := s.update(ctx, region, func(tx store.Tx) error {
		a, err := s.gatewayAPI(tx, apiID, t)
		if err != nil {
			return err
		}
		gr := a.GatewayResponses[t]
		if gr == nil {
			gr = apigw.NewDefaultGatewayResponse(t)
		} else {
			gr = gr.Clone()
		}
		for _, op := range ops {
			if err := applyGatewayResponseOp(gr, op); err != nil {
				return err
			}
		}
		if err := validateGatewayResponseParameters(gr.ResponseParameters); err != nil {
			return err
		}
		out = gr.Clone()
		return putGatewayResponses(tx, a, t, gr)
	})
	return out, err
}

// applyGatewayResponseOp applies one patch operation (recorded texts).
func applyGatewayResponseOp(gr *apigw.GatewayResponse, op patch.Op) error {
	switch {
	case op.Path == "":
		return patch.BadPath("null")
	case op.Path == "/statusCode":
		if op.Op != "replace" {
			return patch.BadPath(op.Path)
		}
		if err := validateStatusCode(op.V()); err != nil {
			return err
		}
		gr.StatusCode = op.V()
	case strings.HasPrefix(op.Path, "/responseParameters/"):
		return patchMap(gr.ResponseParameters, patch.Unescape(strings.TrimPrefix(op.Path, "/responseParameters/")), op, "responseParameters")
	case strings.HasPrefix(op.Path, "/responseTemplates/"):
		return patchMap(gr.ResponseTemplates, patch.Unescape(strings.TrimPrefix(op.Path, "/responseTemplates/")), op, "responseTemplates")
	default:
		return patch.BadPath(op.Path)
	}
	return nil
}

// patchMap applies add, replace or remove to one entry of a gateway response's map: replace
// and remove want an existing entry ("Invalid parameter name specified", recorded for replace),
// add and replace a non-empty value.
func patchMap(m map[string]string, key string, op patch.Op, member string) error {
	if key == "" {
		return patch.BadPath(op.Path)
	}
	switch op.Op {
	case "add", "replace":
		if op.V() == "" {
			return apigw.BadRequest("Invalid null or empty value in %s", member)
		}
		if _, ok := m[key]; !ok && op.Op == "replace" {
			return apigw.NotFound("Invalid parameter name specified")
		}
		m[key] = op.V()
	case "remove":
		if _, ok := m[key]; !ok {
			return apigw.NotFound("Invalid parameter name specified")
		}
		delete(m, key)
	default:
		return patch.UnsupportedOp(op.Path, op.Op)
	}
	return nil
}
