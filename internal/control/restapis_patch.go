package control

import (
	"slices"
	"strconv"
	"strings"

	"github.com/tollgate/tollgate/internal/apigw"
	"github.com/tollgate/tollgate/internal/apigw/patch"
)

// UpdateRestApi's path table (addendum §3.4). Each op edits the copy UpdateRestApi stores only if
// every op succeeds.

const binaryMediaTypesPrefix = "/binaryMediaTypes/"

// applyRestApiOp applies one patch operation to a.
func applyRestApiOp(a *apigw.RestApi, op patch.Op) error {
	switch {
	case op.Path == "/name":
		if op.Op != "replace" {
			return patch.OnlyOps("replace")
		}
		a.Name = op.V()
	case op.Path == "/description":
		switch op.Op {
		case "add", "replace":
			a.Description = op.V()
		case "remove":
			a.Description = ""
		default:
			return patch.OnlyOps("add", "remove", "replace")
		}
	case op.Path == "/apiKeySource":
		if op.Op != "replace" {
			return patch.OnlyOps("replace")
		}
		v := op.V()
		if v != apigw.ApiKeySourceHeader && v != apigw.ApiKeySourceAuthorizer {
			return apigw.BadRequest("Invalid ApiKeySource specified. Valid options are HEADER,AUTHORIZER")
		}
		a.ApiKeySource = v
	case strings.HasPrefix(op.Path, binaryMediaTypesPrefix) && len(op.Path) > len(binaryMediaTypesPrefix):
		return patchBinaryMediaType(a, op, patch.Unescape(strings.TrimPrefix(op.Path, binaryMediaTypesPrefix)))
	case op.Path == "/minimumCompressionSize":
		return patchCompressionSize(a, op)
	case strings.HasPrefix(op.Path, "/endpointConfiguration/types/"):
		return patchEndpointType(a, op)
	case op.Path == "/endpointConfiguration/ipAddressType":
		return patchIPAddressType(a, op)
	case op.Path == "/endpointConfiguration/vpcEndpointIds":
		return patchVpcEndpointIDs(a, op)
	case op.Path == "/disableExecuteApiEndpoint":
		if op.Op != "replace" {
			return patch.OnlyOps("replace")
		}
		a.DisableExecuteApiEndpoint = patch.ParseBool(op.V())
	case op.Path == "/policy":
		switch op.Op {
		case "add", "replace":
			if err := refusePolicy(op.V()); err != nil {
				return err
			}
			a.Policy = ""
		case "remove":
			a.Policy = ""
		default:
			return patch.OnlyOps("add", "remove", "replace")
		}
	default:
		return patch.BadPath(op.Path)
	}
	return nil
}

// patchBinaryMediaType: add takes the type from the path (its value is ignored), remove drops
// it, replace drops it and appends the value at the end (recorded AWS behaviour).
func patchBinaryMediaType(a *apigw.RestApi, op patch.Op, typ string) error {
	switch op.Op {
	case "add":
		if !slices.Contains(a.BinaryMediaTypes, typ) {
			a.BinaryMediaTypes = append(a.BinaryMediaTypes, typ)
		}
	case "remove":
		a.BinaryMediaTypes = slices.DeleteFunc(a.BinaryMediaTypes, func(t string) bool { return t == typ })
	case "replace":
		a.BinaryMediaTypes = slices.DeleteFunc(a.BinaryMediaTypes, func(t string) bool { return t == typ })
		if v := op.V(); v != "" && !slices.Contains(a.BinaryMediaTypes, v) {
			a.BinaryMediaTypes = append(a.BinaryMediaTypes, v)
		}
	default:
		return patch.OnlyOps("add", "remove", "replace")
	}
	if len(a.BinaryMediaTypes) == 0 {
		a.BinaryMediaTypes = nil
	}
	return nil
}

// patchCompressionSize: replace only; "" or no value clears the setting.
func patchCompressionSize(a *apigw.RestApi, op patch.Op) error {
	if op.Op != "replace" {
		return patch.OnlyOps("replace")
	}
	v := op.V()
	if v == "" {
		a.MinimumCompressionSize = nil
		return nil
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < 0 || n > MaxCompressionSize {
		return errCompressionSize()
	}
	a.MinimumCompressionSize = &n
	return nil
}

// patchEndpointType replaces the API's (single) endpoint type; PRIVATE forces dualstack.
func patchEndpointType(a *apigw.RestApi, op patch.Op) error {
	switch op.Op {
	case "add", "replace":
	case "remove":
		return apigw.BadRequest("Invalid patch operation specified. Must be 'add'|'remove'|'replace'")
	default:
		return patch.OnlyOps("add", "remove", "replace")
	}
	v := op.V()
	if v != EndpointEdge && v != EndpointRegional && v != EndpointPrivate {
		return apigw.BadRequest("Invalid EndpointTypes specified. Valid options are REGIONAL,EDGE,PRIVATE")
	}
	a.EndpointConfiguration.Types = []string{v}
	if v == EndpointPrivate {
		a.EndpointConfiguration.IPAddressType = IPAddressDualstack
	}
	return nil
}

func patchIPAddressType(a *apigw.RestApi, op patch.Op) error {
	if op.Op != "replace" {
		return patch.OnlyOps("replace")
	}
	v := op.V()
	if v != IPAddressIPv4 && v != IPAddressDualstack {
		return apigw.BadRequest("ipAddressType must be either ipv4 or dualstack.")
	}
	if v == IPAddressIPv4 && slices.Contains(a.EndpointConfiguration.Types, EndpointPrivate) {
		return errPrivateIPv4()
	}
	a.EndpointConfiguration.IPAddressType = v
	return nil
}

// patchVpcEndpointIDs: add/remove one id (Terraform's form); replace sets the list to the value.
func patchVpcEndpointIDs(a *apigw.RestApi, op patch.Op) error {
	ec := &a.EndpointConfiguration
	v := op.V()
	switch op.Op {
	case "add":
		if v != "" && !slices.Contains(ec.VpcEndpointIDs, v) {
			ec.VpcEndpointIDs = append(ec.VpcEndpointIDs, v)
		}
	case "remove":
		ec.VpcEndpointIDs = slices.DeleteFunc(ec.VpcEndpointIDs, func(id string) bool { return id == v })
	case "replace":
		ec.VpcEndpointIDs = nil
		if v != "" {
			ec.VpcEndpointIDs = []string{v}
		}
	default:
		return patch.OnlyOps("add", "remove", "replace")
	}
	if len(ec.VpcEndpointIDs) == 0 {
		ec.VpcEndpointIDs = nil
	}
	return nil
}
