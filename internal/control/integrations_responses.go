package control

import (
	"context"
	"errors"
	"regexp"
	"slices"

	"github.com/tollgate/tollgate/internal/apigw"
	"github.com/tollgate/tollgate/internal/apigw/patch"
	"github.com/tollgate/tollgate/internal/store"
)

// Integration responses (addendum §2.6, §5.11, §5.12).

// IntegrationResponseInput is the PutIntegrationResponse body. Template values are pointers
// because JSON null is a legal template (echoed as null, like "").
type IntegrationResponseInput struct {
	SelectionPattern   *string            `json:"selectionPattern"`
	ResponseParameters map[string]string  `json:"responseParameters"`
	ResponseTemplates  map[string]*string `json:"responseTemplates"`
	ContentHandling    string             `json:"contentHandling"`
}

var integrationResponseParam = regexp.MustCompile(`^method\.response\.header\.[^.].*$`)

// ValidateIntegrationResponseParameters checks that every key names a method response header.
func ValidateIntegrationResponseParameters(params map[string]string) error {
	var bad []string
	for _, k := range sortedKeys(params) {
		if !integrationResponseParam.MatchString(k) {
			bad = append(bad, k)
		}
	}
	if len(bad) > 0 {
		return invalidMapping(bad)
	}
	return nil
}

// PutIntegrationResponse defines or overwrites (201 both times) an integration response.
func (s *Service) PutIntegrationResponse(ctx context.Context, region, apiID, resourceID, verb, code string, in IntegrationResponseInput) (*apigw.IntegrationResponse, error) {
	if err := validateStatusCode(code); err != nil {
		return nil, err
	}
	var r *apigw.IntegrationResponse
	err := s.update(ctx, region, func(tx store.Tx) error {
		a, m, err := findIntegration(tx, apiID, resourceID, verb)
		if err != nil {
			return err
		}
		if r, err = NewIntegrationResponse(code, in); err != nil {
			return err
		}
		if err := SetIntegrationResponse(m.Integration, r); err != nil {
			return err
		}
		return tx.PutRestApi(a)
	})
	return r, err
}

// NewIntegrationResponse validates a PutIntegrationResponse body and builds the response.
func NewIntegrationResponse(code string, in IntegrationResponseInput) (*apigw.IntegrationResponse, error) {
	if in.ContentHandling != "" && !slices.Contains(contentHandlings, in.ContentHandling) {
		return nil, patch.ValidationErrors([]string{enumError(in.ContentHandling, "putIntegrationResponseInput.contentHandling", contentHandlings)})
	}
	if err := ValidateIntegrationResponseParameters(in.ResponseParameters); err != nil {
		return nil, err
	}
	if err := validateContentTypes(sortedKeys(in.ResponseTemplates)); err != nil {
		return nil, err
	}
	r := &apigw.IntegrationResponse{
		StatusCode:         code,
		SelectionPattern:   in.SelectionPattern,
		ResponseParameters: in.ResponseParameters,
		ContentHandling:    in.ContentHandling,
	}
	if in.ResponseTemplates != nil {
		r.ResponseTemplates = make(map[string]*string, len(in.ResponseTemplates))
		for k, v := range in.ResponseTemplates {
			r.ResponseTemplates[k] = templateValue(v)
		}
	}
	return r, nil
}

// SetIntegrationResponse stores r in i, replacing the response of the same status code. Two
// responses of one integration may not share a selection pattern (409); no pattern and ""
// both mean the default response.
func SetIntegrationResponse(i *apigw.Integration, r *apigw.IntegrationResponse) error {
	if err := checkSelectionPattern(i, r); err != nil {
		return err
	}
	if i.IntegrationResponses == nil {
		i.IntegrationResponses = map[string]*apigw.IntegrationResponse{}
	}
	i.IntegrationResponses[r.StatusCode] = r
	return nil
}

func checkSelectionPattern(i *apigw.Integration, r *apigw.IntegrationResponse) error {
	want := patternName(r.SelectionPattern)
	for code, other := range i.IntegrationResponses {
		if code != r.StatusCode && patternName(other.SelectionPattern) == want {
			return apigw.Conflict("Integration response with selection pattern %s already exists", want)
		}
	}
	return nil
}

func patternName(p *string) string {
	if p == nil || *p == "" {
		return "default"
	}
	return *p
}

// findIntegrationResponse reads down to an integration response.
func findIntegrationResponse(tx store.Tx, apiID, resourceID, verb, code string) (*apigw.RestApi, *apigw.Integration, *apigw.IntegrationResponse, error) {
	a, m, err := findIntegration(tx, apiID, resourceID, verb)
	if err != nil {
		return nil, nil, nil, err
	}
	r := m.Integration.IntegrationResponses[code]
	if r == nil {
		return nil, nil, nil, apigw.NotFound(apigw.MsgInvalidStatusCode)
	}
	return a, m.Integration, r, nil
}

// GetIntegrationResponse returns one integration response.
func (s *Service) GetIntegrationResponse(ctx context.Context, region, apiID, resourceID, verb, code string) (*apigw.IntegrationResponse, error) {
	if err := validateStatusCode(code); err != nil {
		return nil, err
	}
	var r *apigw.IntegrationResponse
	err := s.view(ctx, region, func(tx store.Tx) (err error) {
		_, _, r, err = findIntegrationResponse(tx, apiID, resourceID, verb, code)
		return err
	})
	return r, err
}

// UpdateIntegrationResponse patches an integration response, all or nothing.
func (s *Service) UpdateIntegrationResponse(ctx context.Context, region, apiID, resourceID, verb, code string, ops []patch.Op) (*apigw.IntegrationResponse, error) {
	if err := validateOpsAndStatus(ops, "updateIntegrationResponseInput", code); err != nil {
		return nil, err
	}
	var r *apigw.IntegrationResponse
	err := s.update(ctx, region, func(tx store.Tx) error {
		a, integ, cur, err := findIntegrationResponse(tx, apiID, resourceID, verb, code)
		if err != nil {
			return err
		}
		for _, op := range ops {
			if err := applyIntegrationResponseOp(cur, op); err != nil {
				return err
			}
		}
		if err := checkSelectionPattern(integ, cur); err != nil {
			return err
		}
		r = cur
		return tx.PutRestApi(a)
	})
	return r, err
}

// DeleteIntegrationResponse deletes an integration response. Unlike Get and Put, a missing method
// reads as a missing integration here (recorded AWS behaviour, §5.11).
func (s *Service) DeleteIntegrationResponse(ctx context.Context, region, apiID, resourceID, verb, code string) error {
	if err := validateStatusCode(code); err != nil {
		return err
	}
	return s.update(ctx, region, func(tx store.Tx) error {
		a, integ, _, err := findIntegrationResponse(tx, apiID, resourceID, verb, code)
		var e *apigw.Error
		if errors.As(err, &e) && e.Message == apigw.MsgInvalidMethodID {
			return apigw.NotFound(apigw.MsgInvalidIntegration)
		}
		if err != nil {
			return err
		}
		delete(integ.IntegrationResponses, code)
		if len(integ.IntegrationResponses) == 0 {
			integ.IntegrationResponses = nil
		}
		return tx.PutRestApi(a)
	})
}
