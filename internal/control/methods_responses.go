package control

import (
	"context"
	"regexp"

	"github.com/tollgate/tollgate/internal/apigw"
	"github.com/tollgate/tollgate/internal/apigw/patch"
	"github.com/tollgate/tollgate/internal/store"
)

// Method responses (addendum §2.4, §5.5, §5.6).

// MethodResponseInput is the PutMethodResponse body. Maps stay nil when not sent, so an empty map
// the client did send is echoed as {}.
type MethodResponseInput struct {
	ResponseParameters map[string]bool   `json:"responseParameters"`
	ResponseModels     map[string]string `json:"responseModels"`
}

var methodResponseParam = regexp.MustCompile(`^method\.response\.header\.[^.].*$`)

// ValidateMethodResponseParameters checks that every key names a response header
// (method.response.header.<name>).
func ValidateMethodResponseParameters(params map[string]bool) error {
	var bad []string
	for _, k := range sortedKeys(params) {
		if !methodResponseParam.MatchString(k) {
			bad = append(bad, k)
		}
	}
	if len(bad) > 0 {
		return invalidMapping(bad)
	}
	return nil
}

// findMethodResponse reads down to a method response; a missing one is the status-code 404.
func findMethodResponse(tx store.Tx, apiID, resourceID, verb, code string) (*apigw.RestApi, *apigw.Method, *apigw.MethodResponse, error) {
	a, _, m, err := findMethod(tx, apiID, resourceID, verb)
	if err != nil {
		return nil, nil, nil, err
	}
	mr := m.MethodResponses[code]
	if mr == nil {
		return nil, nil, nil, apigw.NotFound(apigw.MsgInvalidStatusCode)
	}
	return a, m, mr, nil
}

// PutMethodResponse defines a method response; an existing status code is a 409 (§12 A7).
func (s *Service) PutMethodResponse(ctx context.Context, region, apiID, resourceID, verb, code string, in MethodResponseInput) (*apigw.MethodResponse, error) {
	if err := validateStatusCode(code); err != nil {
		return nil, err
	}
	var mr *apigw.MethodResponse
	err := s.update(ctx, region, func(tx store.Tx) error {
		a, _, m, err := findMethod(tx, apiID, resourceID, verb)
		if err != nil {
			return err
		}
		if m.MethodResponses[code] != nil {
			return apigw.Conflict("Response already exists for this resource")
		}
		if mr, err = NewMethodResponse(a, code, in); err != nil {
			return err
		}
		if m.MethodResponses == nil {
			m.MethodResponses = map[string]*apigw.MethodResponse{}
		}
		m.MethodResponses[code] = mr
		return tx.PutRestApi(a)
	})
	return mr, err
}

// NewMethodResponse validates a PutMethodResponse body against the API and builds the response.
func NewMethodResponse(a *apigw.RestApi, code string, in MethodResponseInput) (*apigw.MethodResponse, error) {
	if err := ValidateMethodResponseParameters(in.ResponseParameters); err != nil {
		return nil, err
	}
	if err := checkModels(a, in.ResponseModels); err != nil {
		return nil, err
	}
	return &apigw.MethodResponse{StatusCode: code, ResponseParameters: in.ResponseParameters, ResponseModels: in.ResponseModels}, nil
}

// GetMethodResponse returns one method response.
func (s *Service) GetMethodResponse(ctx context.Context, region, apiID, resourceID, verb, code string) (*apigw.MethodResponse, error) {
	if err := validateStatusCode(code); err != nil {
		return nil, err
	}
	var mr *apigw.MethodResponse
	err := s.view(ctx, region, func(tx store.Tx) (err error) {
		_, _, mr, err = findMethodResponse(tx, apiID, resourceID, verb, code)
		return err
	})
	return mr, err
}

// UpdateMethodResponse patches a method response, all or nothing (AWS answers it with 201).
func (s *Service) UpdateMethodResponse(ctx context.Context, region, apiID, resourceID, verb, code string, ops []patch.Op) (*apigw.MethodResponse, error) {
	if err := validateOpsAndStatus(ops, "updateMethodResponseInput", code); err != nil {
		return nil, err
	}
	var mr *apigw.MethodResponse
	err := s.update(ctx, region, func(tx store.Tx) error {
		a, _, cur, err := findMethodResponse(tx, apiID, resourceID, verb, code)
		if err != nil {
			return err
		}
		for _, op := range ops {
			if err := applyMethodResponseOp(a, cur, op); err != nil {
				return err
			}
		}
		mr = cur
		return tx.PutRestApi(a)
	})
	return mr, err
}

// DeleteMethodResponse deletes a method response.
func (s *Service) DeleteMethodResponse(ctx context.Context, region, apiID, resourceID, verb, code string) error {
	if err := validateStatusCode(code); err != nil {
		return err
	}
	return s.update(ctx, region, func(tx store.Tx) error {
		a, m, _, err := findMethodResponse(tx, apiID, resourceID, verb, code)
		if err != nil {
			return err
		}
		delete(m.MethodResponses, code)
		if len(m.MethodResponses) == 0 {
			m.MethodResponses = nil
		}
		return tx.PutRestApi(a)
	})
}
