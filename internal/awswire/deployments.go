package awswire

import "github.com/tollgate/tollgate/internal/apigw"

// Deployment is the Deployment shape (addendum §2.7): id, createdDate, description when set, and
// apiSummary only when GetDeployment was asked for embed=apisummary.
type Deployment struct {
	ID          string                               `json:"id"`
	Description string                               `json:"description,omitempty"`
	CreatedDate Epoch                                `json:"createdDate"`
	ApiSummary  map[string]map[string]MethodSnapshot `json:"apiSummary,omitempty"`
}

// MethodSnapshot is one method of a deployment's apiSummary.
type MethodSnapshot struct {
	AuthorizationType string `json:"authorizationType"`
	ApiKeyRequired    bool   `json:"apiKeyRequired"`
}

// Deployments is GetDeployments' output; the list is named "item" on the wire.
type Deployments struct {
	Items    []Deployment `json:"item"`
	Position string       `json:"position,omitempty"`
}

// DeploymentOf builds the wire form of a deployment, with its apiSummary when summary is set.
func DeploymentOf(d *apigw.Deployment, summary bool) Deployment {
	out := Deployment{ID: d.ID, Description: d.Description, CreatedDate: EpochOf(d.CreatedDate)}
	if summary {
		out.ApiSummary = apiSummary(d.Resources)
	}
	return out
}

// apiSummary maps each resource path of the frozen tree to its methods; resources without
// methods are left out. It is never nil, so an asked-for summary is always present.
func apiSummary(rs []*apigw.Resource) map[string]map[string]MethodSnapshot {
	out := map[string]map[string]MethodSnapshot{}
	for _, r := range rs {
		if len(r.Methods) == 0 {
			continue
		}
		ms := make(map[string]MethodSnapshot, len(r.Methods))
		for verb, m := range r.Methods {
			ms[verb] = MethodSnapshot{AuthorizationType: m.AuthorizationType, ApiKeyRequired: m.ApiKeyRequired}
		}
		out[apigw.ResourcePath(rs, r.ID)] = ms
	}
	return out
}

// DeploymentsOf builds GetDeployments' output; the list is [] (never null) when empty.
func DeploymentsOf(ds []*apigw.Deployment, next string) Deployments {
	out := Deployments{Items: make([]Deployment, 0, len(ds)), Position: EncodePosition(next)}
	for _, d := range ds {
		out.Items = append(out.Items, DeploymentOf(d, false))
	}
	return out
}
