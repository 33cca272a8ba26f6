package control

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/tollgate/tollgate/internal/apigw"
	"github.com/tollgate/tollgate/internal/apigw/patch"
	"github.com/tollgate/tollgate/internal/store"
)

// Endpoint types and IP address types of a REST API.
const (
	EndpointEdge       = "EDGE"
	EndpointRegional   = "REGIONAL"
	EndpointPrivate    = "PRIVATE"
	IPAddressIPv4      = "ipv4"
	IPAddressDualstack = "dualstack"

	// MaxCompressionSize is the largest minimumCompressionSize AWS accepts.
	MaxCompressionSize = 10485760
)

// DefaultModels are the models every REST API has from its creation.
var DefaultModels = []string{"Empty", "Error"}

// CreateRestApiInput is the CreateRestApi body (addendum §3.1). Pointers tell "absent" from the
// zero value where AWS treats them differently (description "" is an error, tags {} is echoed).
type CreateRestApiInput struct {
	Name                      *string                     `json:"name"`
	Description               *string                     `json:"description"`
	Version                   string                      `json:"version"`
	CloneFrom                 string                      `json:"cloneFrom"`
	BinaryMediaTypes          []string                    `json:"binaryMediaTypes"`
	MinimumCompressionSize    *int64                      `json:"minimumCompressionSize"`
	ApiKeySource              *string                     `json:"apiKeySource"`
	EndpointConfiguration     *EndpointConfigurationInput `json:"endpointConfiguration"`
	Policy                    string                      `json:"policy"`
	Tags                      map[string]string           `json:"tags"`
	DisableExecuteApiEndpoint bool                        `json:"disableExecuteApiEndpoint"`
}

// EndpointConfigurationInput is the endpointConfiguration member of CreateRestApi. A nil Types
// means "not sent" (EDGE); an empty non-nil one was sent as [] and is refused.
type EndpointConfigurationInput struct {
	Types          []string `json:"types"`
	IPAddressType  string   `json:"ipAddressType"`
	VpcEndpointIDs []string `json:"vpcEndpointIds"`
}

// NewRestApi returns an API named name with AWS's defaults (HEADER key source, EDGE/ipv4
// endpoint), a fresh 10-character root resource and the default models. The id is left empty:
// PutNewRestApi assigns it. The importer builds on this too.
func NewRestApi(name string, now time.Time) *apigw.RestApi {
	root := &apigw.Resource{ID: apigw.NewID(apigw.RootResourceIDLen)}
	return &apigw.RestApi{
		Name:                  name,
		CreatedDate:           now,
		ApiKeySource:          apigw.ApiKeySourceHeader,
		EndpointConfiguration: apigw.EndpointConfiguration{Types: []string{EndpointEdge}, IPAddressType: IPAddressIPv4},
		RootResourceID:        root.ID,
		Resources:             []*apigw.Resource{root},
		Models:                append([]string(nil), DefaultModels...),
	}
}

// PutNewRestApi stores a new API under a fresh id, drawing again on the (rare) id collision.
func PutNewRestApi(tx store.Tx, a *apigw.RestApi) error {
	for attempt := 0; ; attempt++ {
		a.ID = apigw.NewID(apigw.RestApiIDLen)
		a.Rev = 0
		err := tx.PutRestApi(a)
		if !errors.Is(err, store.ErrConflict) || attempt == 4 {
			return err
		}
	}
}

// CreateRestApi creates an API with its root resource (addendum §3.1).
func (s *Service) CreateRestApi(ctx context.Context, region string, in CreateRestApiInput) (*apigw.RestApi, error) {
	if err := validateCreateRestApi(in); err != nil {
		return nil, err
	}
	name := ""
	if in.Name != nil {
		name = *in.Name
	}
	a := NewRestApi(name, s.Now())
	if in.Description != nil {
		a.Description = *in.Description
	}
	a.Version = in.Version
	if len(in.BinaryMediaTypes) > 0 {
		a.BinaryMediaTypes = append([]string(nil), in.BinaryMediaTypes...)
	}
	a.MinimumCompressionSize = in.MinimumCompressionSize
	if in.ApiKeySource != nil {
		a.ApiKeySource = *in.ApiKeySource
	}
	if ec := in.EndpointConfiguration; ec != nil {
		if ec.Types != nil {
			a.EndpointConfiguration.Types = append([]string(nil), ec.Types...)
		}
		a.EndpointConfiguration.IPAddressType = defaultIPAddressType(a.EndpointConfiguration.Types[0], ec.IPAddressType)
		if len(ec.VpcEndpointIDs) > 0 {
			a.EndpointConfiguration.VpcEndpointIDs = append([]string(nil), ec.VpcEndpointIDs...)
		}
	}
	if err := refusePolicy(in.Policy); err != nil {
		return nil, err
	}
	a.Policy = compactPolicy(in.Policy)
	a.Tags = in.Tags
	a.DisableExecuteApiEndpoint = in.DisableExecuteApiEndpoint
	err := s.update(ctx, region, func(tx store.Tx) error {
		if in.CloneFrom != "" {
			src, err := tx.GetRestApi(in.CloneFrom)
			if err != nil {
				return notFound(err, apigw.InvalidAPI(s.AccountID(), in.CloneFrom))
			}
			cloneTree(a, src)
		}
		return PutNewRestApi(tx, a)
	})
	if err != nil {
		return nil, err
	}
	return a, nil
}

// validateCreateRestApi applies §3.1's checks in AWS's order: the model's constraints
// (ValidationException, all violations together), then the business rules one at a time.
func validateCreateRestApi(in CreateRestApiInput) error {
	var bad []string
	if in.Name == nil {
		bad = append(bad, "Value null at 'createRestApiInput.name' failed to satisfy constraint: Member must not be null")
	}
	ec := in.EndpointConfiguration
	if ec != nil {
		for _, t := range ec.Types {
			if t != EndpointEdge && t != EndpointRegional && t != EndpointPrivate {
				bad = append(bad, fmt.Sprintf("Value '[%s]' at 'createRestApiInput.endpointConfiguration.types' failed to satisfy constraint: Member must satisfy constraint: [Member must satisfy enum value set: [PRIVATE, EDGE, REGIONAL]]", strings.Join(ec.Types, ", ")))
				break
			}
		}
		if ec.IPAddressType != "" && ec.IPAddressType != IPAddressIPv4 && ec.IPAddressType != IPAddressDualstack {
			bad = append(bad, fmt.Sprintf("Value '%s' at 'createRestApiInput.endpointConfiguration.ipAddressType' failed to satisfy constraint: Member must satisfy enum value set: [ipv4, dualstack]", ec.IPAddressType))
		}
	}
	if in.ApiKeySource != nil && *in.ApiKeySource != apigw.ApiKeySourceHeader && *in.ApiKeySource != apigw.ApiKeySourceAuthorizer {
		bad = append(bad, fmt.Sprintf("Value '%s' at 'createRestApiInput.apiKeySource' failed to satisfy constraint: Member must satisfy enum value set: [HEADER, AUTHORIZER]", *in.ApiKeySource))
	}
	if err := patch.ValidationErrors(bad); err != nil {
		return err
	}
	if ec != nil && ec.Types != nil {
		switch len(ec.Types) {
		case 0:
			return apigw.BadRequest("REGIONAL Configuration and EDGE Configuration cannot be both DISABLED.")
		case 1:
		default:
			return apigw.BadRequest("Cannot create an api with multiple Endpoint Types.")
		}
	}
	if in.Description != nil && *in.Description == "" {
		return apigw.BadRequest("Description cannot be an empty string")
	}
	if m := in.MinimumCompressionSize; m != nil && (*m < 0 || *m > MaxCompressionSize) {
		return errCompressionSize()
	}
	if ec != nil && len(ec.Types) == 1 && ec.Types[0] == EndpointPrivate && ec.IPAddressType == IPAddressIPv4 {
		return errPrivateIPv4()
	}
	return nil
}

func errCompressionSize() error {
	return apigw.BadRequest("Invalid minimum compression size, must be between 0 and %d", MaxCompressionSize)
}

func errPrivateIPv4() error {
	return apigw.BadRequest("Only dualstack ipAddressType is supported for Private APIs.")
}

// defaultIPAddressType is ipAddressType as sent, else dualstack for PRIVATE and ipv4 otherwise.
func defaultIPAddressType(endpointType, sent string) string {
	switch {
	case sent != "":
		return sent
	case endpointType == EndpointPrivate:
		return IPAddressDualstack
	}
	return IPAddressIPv4
}

// MsgPolicyUnsupported refuses a resource policy: Tollgate does not evaluate IAM policy documents,
// and a policy it stored but ignored would look like protection it does not give.
const MsgPolicyUnsupported = "Resource policies are not supported by Tollgate: it does not evaluate IAM policy documents. " +
	"Control access with AWS_IAM authorization, API keys and usage plans."

// refusePolicy refuses a non-empty resource policy.
func refusePolicy(p string) error {
	if strings.TrimSpace(p) != "" {
		return apigw.BadRequest(MsgPolicyUnsupported)
	}
	return nil
}

// compactPolicy stores a JSON policy compactly (Terraform normalises either way); text that is
// not JSON is kept verbatim.
func compactPolicy(p string) string {
	var b bytes.Buffer
	if p == "" || json.Compact(&b, []byte(p)) != nil {
		return p
	}
	return b.String()
}

// cloneTree gives a the resource tree (with fresh ids) and models of src (cloneFrom).
func cloneTree(a, src *apigw.RestApi) {
	rs := apigw.CloneResources(src.Resources)
	ids := make(map[string]string, len(rs))
	for _, r := range rs {
		if r.ParentID == "" {
			ids[r.ID] = a.RootResourceID
			continue
		}
		ids[r.ID] = apigw.NewID(apigw.ResourceIDLen)
	}
	for _, r := range rs {
		r.ID = ids[r.ID]
		if r.ParentID != "" {
			r.ParentID = ids[r.ParentID]
		}
		for _, m := range r.Methods {
			if m.Integration != nil && m.Integration.CacheNamespace != "" {
				if nid, ok := ids[m.Integration.CacheNamespace]; ok {
					m.Integration.CacheNamespace = nid
				}
			}
		}
	}
	a.Resources = rs
	if len(src.Models) > 0 {
		a.Models = append([]string(nil), src.Models...)
	}
}

// getAPI reads an API, mapping a missing one to "Invalid API identifier specified".
func (s *Service) getAPI(tx store.Tx, id string) (*apigw.RestApi, error) {
	a, err := tx.GetRestApi(id)
	if err != nil {
		return nil, notFound(err, apigw.InvalidAPI(s.AccountID(), id))
	}
	return a, nil
}

// GetRestApi returns one API.
func (s *Service) GetRestApi(ctx context.Context, region, id string) (*apigw.RestApi, error) {
	var a *apigw.RestApi
	err := s.view(ctx, region, func(tx store.Tx) (err error) {
		a, err = s.getAPI(tx, id)
		return err
	})
	return a, err
}

// GetRestApis lists APIs in creation order, one page at a time.
func (s *Service) GetRestApis(ctx context.Context, region, cursor string, limit int) (Page[*apigw.RestApi], error) {
	var p Page[*apigw.RestApi]
	err := s.view(ctx, region, func(tx store.Tx) (err error) {
		p.Items, p.Next, err = tx.ListRestApis(store.Page{Cursor: cursor, Limit: limit})
		return err
	})
	return p, err
}

// UpdateRestApi applies patch operations to an API, all or nothing (addendum §3.4).
func (s *Service) UpdateRestApi(ctx context.Context, region, id string, ops []patch.Op) (*apigw.RestApi, error) {
	if err := patch.Validate(ops, "updateRestApiInput"); err != nil {
		return nil, err
	}
	var a *apigw.RestApi
	err := s.update(ctx, region, func(tx store.Tx) error {
		cur, err := s.getAPI(tx, id)
		if err != nil {
			return err
		}
		next := copyRestApiSettings(cur)
		for _, op := range ops {
			if err := applyRestApiOp(next, op); err != nil {
				return err
			}
		}
		if err := tx.PutRestApi(next); err != nil {
			return err
		}
		a = next
		return nil
	})
	return a, err
}

// copyRestApiSettings copies an API deeply enough for UpdateRestApi's ops (top-level settings
// only; the resource tree is shared, which those ops never touch).
func copyRestApiSettings(a *apigw.RestApi) *apigw.RestApi {
	c := *a
	c.BinaryMediaTypes = append([]string(nil), a.BinaryMediaTypes...)
	c.EndpointConfiguration.Types = append([]string(nil), a.EndpointConfiguration.Types...)
	c.EndpointConfiguration.VpcEndpointIDs = append([]string(nil), a.EndpointConfiguration.VpcEndpointIDs...)
	if a.MinimumCompressionSize != nil {
		v := *a.MinimumCompressionSize
		c.MinimumCompressionSize = &v
	}
	return &c
}

// DeleteRestApi deletes an API with everything below it; its stages also leave every usage plan,
// in the same transaction (base spec §8).
func (s *Service) DeleteRestApi(ctx context.Context, region, id string) error {
	return s.update(ctx, region, func(tx store.Tx) error {
		if _, err := s.getAPI(tx, id); err != nil {
			return err
		}
		if err := tx.DeleteRestApi(id); err != nil {
			return err
		}
		return dropStagesFromPlans(tx, id, func(string) bool { return true })
	})
}
