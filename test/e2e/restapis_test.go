package e2e

import (
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/apigateway"
	"github.com/aws/aws-sdk-go-v2/service/apigateway/types"
)

// TestRestApiResourcesE2E drives every REST API resource operation through the SDK.
func TestRestApiResourcesE2E(t *testing.T) {
	s := startServer(t, "")
	c := s.client("us-east-1")
	ctx := ctx(t)

	api, err := c.CreateRestApi(ctx, &apigateway.CreateRestApiInput{Name: aws.String("pets"), Description: aws.String("d"), Tags: map[string]string{"a": "b"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(*api.Id) != 10 || api.ApiKeySource != types.ApiKeySourceTypeHeader || api.RootResourceId == nil {
		t.Fatalf("create: %+v", api)
	}
	_, err = c.GetRestApi(ctx, &apigateway.GetRestApiInput{RestApiId: aws.String("nonexisten")})
	wantErr(t, err, "NotFoundException", "Invalid API identifier specified 000000000000:nonexisten")
	ua, err := c.UpdateRestApi(ctx, &apigateway.UpdateRestApiInput{RestApiId: api.Id, PatchOperations: []types.PatchOperation{
		{Op: types.OpReplace, Path: aws.String("/apiKeySource"), Value: aws.String("AUTHORIZER")},
		{Op: types.OpReplace, Path: aws.String("/name"), Value: aws.String("pets2")}}})
	if err != nil || ua.ApiKeySource != types.ApiKeySourceTypeAuthorizer || aws.ToString(ua.Name) != "pets2" {
		t.Fatalf("update: %+v %v", ua, err)
	}
	apis, err := c.GetRestApis(ctx, &apigateway.GetRestApisInput{})
	if err != nil || len(apis.Items) != 1 {
		t.Fatalf("list: %+v %v", apis, err)
	}

	// Resources.
	pets, err := c.CreateResource(ctx, &apigateway.CreateResourceInput{RestApiId: api.Id, ParentId: api.RootResourceId, PathPart: aws.String("pets")})
	if err != nil || aws.ToString(pets.Path) != "/pets" {
		t.Fatalf("create resource: %+v %v", pets, err)
	}
	_, err = c.CreateResource(ctx, &apigateway.CreateResourceInput{RestApiId: api.Id, ParentId: api.RootResourceId, PathPart: aws.String("pets")})
	wantErr(t, err, "ConflictException", "Another resource with the same parent already has this name: pets")
	proxy, err := c.CreateResource(ctx, &apigateway.CreateResourceInput{RestApiId: api.Id, ParentId: pets.Id, PathPart: aws.String("{proxy+}")})
	if err != nil || aws.ToString(proxy.Path) != "/pets/{proxy+}" {
		t.Fatalf("greedy: %+v %v", proxy, err)
	}
	_, err = c.CreateResource(ctx, &apigateway.CreateResourceInput{RestApiId: api.Id, ParentId: proxy.Id, PathPart: aws.String("x")})
	wantErr(t, err, "BadRequestException", "Cannot create a child of a resource with a greedy path variable: {proxy+}")
	rs, err := c.GetResources(ctx, &apigateway.GetResourcesInput{RestApiId: api.Id})
	if err != nil || len(rs.Items) != 3 {
		t.Fatalf("resources: %+v %v", rs, err)
	}
	if _, err := c.GetResource(ctx, &apigateway.GetResourceInput{RestApiId: api.Id, ResourceId: pets.Id}); err != nil {
		t.Fatal(err)
	}

	// Methods, responses, integrations.
	m, err := c.PutMethod(ctx, &apigateway.PutMethodInput{RestApiId: api.Id, ResourceId: pets.Id, HttpMethod: aws.String("get"), AuthorizationType: aws.String("NONE")})
	if err != nil || aws.ToString(m.HttpMethod) != "GET" || m.ApiKeyRequired == nil || *m.ApiKeyRequired {
		t.Fatalf("put method: %+v %v", m, err)
	}
	_, err = c.PutMethod(ctx, &apigateway.PutMethodInput{RestApiId: api.Id, ResourceId: pets.Id, HttpMethod: aws.String("GET"), AuthorizationType: aws.String("NONE")})
	wantErr(t, err, "ConflictException", "Method already exists for this resource")
	um, err := c.UpdateMethod(ctx, &apigateway.UpdateMethodInput{RestApiId: api.Id, ResourceId: pets.Id, HttpMethod: aws.String("GET"),
		PatchOperations: []types.PatchOperation{{Op: types.OpReplace, Path: aws.String("/apiKeyRequired"), Value: aws.String("true")}}})
	if err != nil || !aws.ToBool(um.ApiKeyRequired) {
		t.Fatalf("update method: %+v %v", um, err)
	}
	if _, err := c.PutMethodResponse(ctx, &apigateway.PutMethodResponseInput{RestApiId: api.Id, ResourceId: pets.Id, HttpMethod: aws.String("GET"), StatusCode: aws.String("200")}); err != nil {
		t.Fatal(err)
	}
	_, err = c.CreateDeployment(ctx, &apigateway.CreateDeploymentInput{RestApiId: api.Id, StageName: aws.String("dev")})
	wantErr(t, err, "BadRequestException", "No integration defined for method")
	in, err := c.PutIntegration(ctx, &apigateway.PutIntegrationInput{RestApiId: api.Id, ResourceId: pets.Id, HttpMethod: aws.String("GET"),
		Type: types.IntegrationTypeHttpProxy, IntegrationHttpMethod: aws.String("GET"), Uri: aws.String("http://127.0.0.1:9/pets")})
	if err != nil || in.ConnectionType != types.ConnectionTypeInternet || in.TimeoutInMillis != 29000 {
		t.Fatalf("put integration: %+v %v", in, err)
	}
	_, err = c.PutIntegration(ctx, &apigateway.PutIntegrationInput{RestApiId: api.Id, ResourceId: pets.Id, HttpMethod: aws.String("GET"),
		Type: types.IntegrationTypeHttp, Uri: aws.String("http://x")})
	wantErr(t, err, "BadRequestException", "Enumeration value for HttpMethod must be non-empty")
	if _, err := c.PutIntegrationResponse(ctx, &apigateway.PutIntegrationResponseInput{RestApiId: api.Id, ResourceId: pets.Id, HttpMethod: aws.String("GET"), StatusCode: aws.String("200")}); err != nil {
		t.Fatal(err)
	}
	gm, err := c.GetMethod(ctx, &apigateway.GetMethodInput{RestApiId: api.Id, ResourceId: pets.Id, HttpMethod: aws.String("GET")})
	if err != nil || gm.MethodIntegration == nil || len(gm.MethodResponses) != 1 || len(gm.MethodIntegration.IntegrationResponses) != 1 {
		t.Fatalf("get method: %+v %v", gm, err)
	}
	if _, err := c.GetIntegration(ctx, &apigateway.GetIntegrationInput{RestApiId: api.Id, ResourceId: pets.Id, HttpMethod: aws.String("GET")}); err != nil {
		t.Fatal(err)
	}

	// Deployments and stages.
	d, err := c.CreateDeployment(ctx, &apigateway.CreateDeploymentInput{RestApiId: api.Id, StageName: aws.String("dev"), Description: aws.String("")})
	if err != nil || len(aws.ToString(d.Id)) != 6 {
		t.Fatalf("deploy: %+v %v", d, err)
	}
	st, err := c.GetStage(ctx, &apigateway.GetStageInput{RestApiId: api.Id, StageName: aws.String("dev")})
	if err != nil || aws.ToString(st.DeploymentId) != *d.Id || st.CacheClusterStatus != types.CacheClusterStatusNotAvailable {
		t.Fatalf("stage: %+v %v", st, err)
	}
	_, err = c.CreateStage(ctx, &apigateway.CreateStageInput{RestApiId: api.Id, StageName: aws.String("dev"), DeploymentId: d.Id})
	wantErr(t, err, "ConflictException", "Stage already exists")
	if _, err := c.CreateStage(ctx, &apigateway.CreateStageInput{RestApiId: api.Id, StageName: aws.String("prod"), DeploymentId: d.Id, Tags: map[string]string{"s": "1"}}); err != nil {
		t.Fatal(err)
	}
	us, err := c.UpdateStage(ctx, &apigateway.UpdateStageInput{RestApiId: api.Id, StageName: aws.String("prod"), PatchOperations: []types.PatchOperation{
		{Op: types.OpReplace, Path: aws.String("/*/*/throttling/rateLimit"), Value: aws.String("100")},
		{Op: types.OpReplace, Path: aws.String("/~1pets/GET/throttling/burstLimit"), Value: aws.String("7")}}})
	if err != nil || us.MethodSettings["*/*"].ThrottlingRateLimit != 100 || us.MethodSettings["~1pets/GET"].ThrottlingBurstLimit != 7 {
		t.Fatalf("update stage: %+v %v", us, err)
	}
	stages, err := c.GetStages(ctx, &apigateway.GetStagesInput{RestApiId: api.Id})
	if err != nil || len(stages.Item) != 2 {
		t.Fatalf("stages: %+v %v", stages, err)
	}
	ds, err := c.GetDeployments(ctx, &apigateway.GetDeploymentsInput{RestApiId: api.Id})
	if err != nil || len(ds.Items) != 1 {
		t.Fatalf("deployments: %+v %v", ds, err)
	}
	if _, err := c.GetDeployment(ctx, &apigateway.GetDeploymentInput{RestApiId: api.Id, DeploymentId: d.Id}); err != nil {
		t.Fatal(err)
	}
	_, err = c.DeleteDeployment(ctx, &apigateway.DeleteDeploymentInput{RestApiId: api.Id, DeploymentId: d.Id})
	wantErr(t, err, "BadRequestException", "Active stages pointing to this deployment must be moved or deleted")

	// Tags on a stage ARN.
	arn := "arn:aws:apigateway:us-east-1::/restapis/" + *api.Id + "/stages/prod"
	if _, err := c.TagResource(ctx, &apigateway.TagResourceInput{ResourceArn: aws.String(arn), Tags: map[string]string{"t": "v"}}); err != nil {
		t.Fatal(err)
	}
	tags, err := c.GetTags(ctx, &apigateway.GetTagsInput{ResourceArn: aws.String(arn)})
	if err != nil || tags.Tags["t"] != "v" || tags.Tags["s"] != "1" {
		t.Fatalf("tags: %+v %v", tags, err)
	}
	if _, err := c.UntagResource(ctx, &apigateway.UntagResourceInput{ResourceArn: aws.String(arn), TagKeys: []string{"t"}}); err != nil {
		t.Fatal(err)
	}

	// Deletes: method-level 204s, then stage, deployment, resource, API.
	for _, step := range []func() error{
		func() error {
			_, err := c.DeleteIntegrationResponse(ctx, &apigateway.DeleteIntegrationResponseInput{RestApiId: api.Id, ResourceId: pets.Id, HttpMethod: aws.String("GET"), StatusCode: aws.String("200")})
			return err
		},
		func() error {
			_, err := c.DeleteIntegration(ctx, &apigateway.DeleteIntegrationInput{RestApiId: api.Id, ResourceId: pets.Id, HttpMethod: aws.String("GET")})
			return err
		},
		func() error {
			_, err := c.DeleteMethodResponse(ctx, &apigateway.DeleteMethodResponseInput{RestApiId: api.Id, ResourceId: pets.Id, HttpMethod: aws.String("GET"), StatusCode: aws.String("200")})
			return err
		},
		func() error {
			_, err := c.DeleteMethod(ctx, &apigateway.DeleteMethodInput{RestApiId: api.Id, ResourceId: pets.Id, HttpMethod: aws.String("GET")})
			return err
		},
		func() error {
			_, err := c.DeleteStage(ctx, &apigateway.DeleteStageInput{RestApiId: api.Id, StageName: aws.String("prod")})
			return err
		},
		func() error {
			_, err := c.DeleteStage(ctx, &apigateway.DeleteStageInput{RestApiId: api.Id, StageName: aws.String("dev")})
			return err
		},
		func() error {
			_, err := c.DeleteDeployment(ctx, &apigateway.DeleteDeploymentInput{RestApiId: api.Id, DeploymentId: d.Id})
			return err
		},
		func() error {
			_, err := c.DeleteResource(ctx, &apigateway.DeleteResourceInput{RestApiId: api.Id, ResourceId: pets.Id})
			return err
		},
	} {
		if err := step(); err != nil {
			t.Fatal(err)
		}
	}
	_, err = c.GetResource(ctx, &apigateway.GetResourceInput{RestApiId: api.Id, ResourceId: proxy.Id})
	wantErr(t, err, "NotFoundException", "Invalid Resource identifier specified")
	if _, err := c.DeleteRestApi(ctx, &apigateway.DeleteRestApiInput{RestApiId: api.Id}); err != nil {
		t.Fatal(err)
	}
	_, err = c.GetRestApi(ctx, &apigateway.GetRestApiInput{RestApiId: api.Id})
	wantErr(t, err, "NotFoundException", "")
}

const petstoreOAS3 = `openapi: 3.0.1
info:
  title: petstore
  version: 1
x-amazon-apigateway-api-key-source: HEADER
paths:
  /pets:
    get:
      operationId: listPets
      security:
        - api_key: []
      responses:
        200:
          description: ok
      x-amazon-apigateway-integration:
        type: mock
        requestTemplates:
          application/json: '{"statusCode": 200}'
        responses:
          default:
            statusCode: "200"
  /pets/{petId}:
    get:
      parameters:
        - name: petId
          in: path
          required: true
          schema:
            type: string
      x-amazon-apigateway-integration:
        type: http_proxy
        httpMethod: GET
        uri: http://127.0.0.1:9/pets/{petId}
        requestParameters:
          integration.request.path.petId: method.request.path.petId
components:
  securitySchemes:
    api_key:
      type: apiKey
      name: x-api-key
      in: header
`

func TestImportRestApiE2E(t *testing.T) {
	s := startServer(t, "")
	c := s.client("us-east-1")
	ctx := ctx(t)
	api, err := c.ImportRestApi(ctx, &apigateway.ImportRestApiInput{Body: []byte(petstoreOAS3)})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToString(api.Name) != "petstore" || aws.ToString(api.Version) != "1" {
		t.Fatalf("import: %+v", api)
	}
	rs, err := c.GetResources(ctx, &apigateway.GetResourcesInput{RestApiId: api.Id, Embed: []string{"methods"}})
	if err != nil {
		t.Fatal(err)
	}
	paths := map[string]types.Resource{}
	for _, r := range rs.Items {
		paths[aws.ToString(r.Path)] = r
	}
	if len(paths) != 3 {
		t.Fatalf("paths: %v", paths)
	}
	get := paths["/pets"].ResourceMethods["GET"]
	if !aws.ToBool(get.ApiKeyRequired) || get.MethodIntegration == nil || get.MethodIntegration.Type != types.IntegrationTypeMock {
		t.Fatalf("/pets GET: %+v", get)
	}
	_, err = c.ImportRestApi(ctx, &apigateway.ImportRestApiInput{Body: []byte("{not json or yaml")})
	wantErr(t, err, "BadRequestException", "Invalid OpenAPI input.")

	// PutRestApi overwrite replaces the tree; the API id stays.
	doc := `{"swagger":"2.0","info":{"title":"v2","version":"2"},"paths":{"/only":{"post":{"responses":{"200":{"description":"ok"}},"x-amazon-apigateway-integration":{"type":"mock","requestTemplates":{"application/json":"{\"statusCode\": 200}"}}}}}}`
	put, err := c.PutRestApi(ctx, &apigateway.PutRestApiInput{RestApiId: api.Id, Mode: types.PutModeOverwrite, Body: []byte(doc)})
	if err != nil || aws.ToString(put.Name) != "v2" || *put.Id != *api.Id {
		t.Fatalf("put overwrite: %+v %v", put, err)
	}
	rs, err = c.GetResources(ctx, &apigateway.GetResourcesInput{RestApiId: api.Id})
	if err != nil || len(rs.Items) != 2 {
		t.Fatalf("after overwrite: %+v %v", rs, err)
	}
}
