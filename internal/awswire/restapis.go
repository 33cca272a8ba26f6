package awswire

import "github.com/tollgate/tollgate/internal/apigw"

// RestApi is the wire form of a REST API (addendum §2.1). Member presence differs per operation
// only for tags (see TagsMode) and warnings (imports).
type RestApi struct {
	ID                        string                `json:"id"`
	Name                      string                `json:"name"`
	Description               string                `json:"description,omitempty"`
	CreatedDate               Epoch                 `json:"createdDate"`
	Version                   string                `json:"version,omitempty"`
	Warnings                  []string              `json:"warnings,omitempty"`
	BinaryMediaTypes          []string              `json:"binaryMediaTypes,omitempty"`
	MinimumCompressionSize    *int64                `json:"minimumCompressionSize,omitempty"`
	ApiKeySource              string                `json:"apiKeySource"`
	EndpointConfiguration     EndpointConfiguration `json:"endpointConfiguration"`
	Policy                    string                `json:"policy,omitempty"`
	Tags                      *map[string]string    `json:"tags,omitempty"`
	DisableExecuteApiEndpoint bool                  `json:"disableExecuteApiEndpoint"`
	RootResourceID            string                `json:"rootResourceId"`
}

// EndpointConfiguration is the wire form of a REST API's endpoint configuration.
type EndpointConfiguration struct {
	Types          []string `json:"types"`
	IPAddressType  string   `json:"ipAddressType,omitempty"`
	VpcEndpointIDs []string `json:"vpcEndpointIds,omitempty"`
}

// TagsMode says when a RestApi's tags member is present: AWS differs per operation (§2.1).
type TagsMode int

const (
	// TagsIfSupplied (CreateRestApi): present when the request carried tags, even {}; the domain
	// object then holds a non-nil map.
	TagsIfSupplied TagsMode = iota
	// TagsAlways (GetRestApi, UpdateRestApi, PutRestApi): {} when none.
	TagsAlways
	// TagsIfNonEmpty (GetRestApis items, ImportRestApi).
	TagsIfNonEmpty
)

// RestApiOf builds the wire RestApi.
func RestApiOf(a *apigw.RestApi, mode TagsMode) RestApi {
	out := RestApi{
		ID:                        a.ID,
		Name:                      a.Name,
		Description:               a.Description,
		CreatedDate:               EpochOf(a.CreatedDate),
		Version:                   a.Version,
		BinaryMediaTypes:          a.BinaryMediaTypes,
		MinimumCompressionSize:    a.MinimumCompressionSize,
		ApiKeySource:              a.ApiKeySource,
		Policy:                    a.Policy,
		DisableExecuteApiEndpoint: a.DisableExecuteApiEndpoint,
		RootResourceID:            a.RootResourceID,
		EndpointConfiguration: EndpointConfiguration{
			Types:          a.EndpointConfiguration.Types,
			IPAddressType:  a.EndpointConfiguration.IPAddressType,
			VpcEndpointIDs: a.EndpointConfiguration.VpcEndpointIDs,
		},
	}
	if out.EndpointConfiguration.Types == nil {
		out.EndpointConfiguration.Types = []string{}
	}
	if out.ApiKeySource == "" {
		out.ApiKeySource = apigw.ApiKeySourceHeader
	}
	tags := a.Tags
	switch mode {
	case TagsIfSupplied:
		if tags != nil {
			out.Tags = &tags
		}
	case TagsAlways:
		if tags == nil {
			tags = map[string]string{}
		}
		out.Tags = &tags
	case TagsIfNonEmpty:
		if len(tags) > 0 {
			out.Tags = &tags
		}
	}
	return out
}

// RestApis is the GetRestApis body: {"item":[…],"position"?}.
type RestApis struct {
	Item     []RestApi `json:"item"`
	Position string    `json:"position,omitempty"`
}

// RestApisOf builds a GetRestApis page; next is the store cursor of the next page.
func RestApisOf(apis []*apigw.RestApi, next string) RestApis {
	out := RestApis{Item: make([]RestApi, 0, len(apis)), Position: EncodePosition(next)}
	for _, a := range apis {
		out.Item = append(out.Item, RestApiOf(a, TagsIfNonEmpty))
	}
	return out
}
