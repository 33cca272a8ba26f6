package authorizer

// TestInput is a TestInvokeAuthorizer request (its wire shape).
type TestInput struct {
	Headers             map[string]string   `json:"headers"`
	MultiValueHeaders   map[string][]string `json:"multiValueHeaders"`
	PathWithQueryString string              `json:"pathWithQueryString"`
	Body                string              `json:"body"`
	StageVariables      map[string]string   `json:"stageVariables"`
	AdditionalContext   map[string]string   `json:"additionalContext"`
}

// TestOutput is the TestInvokeAuthorizer answer (its wire shape).
type TestOutput struct {
	ClientStatus int               `json:"clientStatus"`
	Log          string            `json:"log"`
	Latency      int64             `json:"latency"`
	PrincipalID  string            `json:"principalId,omitempty"`
	Policy       string            `json:"policy,omitempty"`
	Claims       map[string]string `json:"claims,omitempty"`
}
