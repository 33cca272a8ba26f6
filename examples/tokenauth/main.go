// Command tokenauth is a demonstration Lambda Invoke API with one function, a TOKEN authorizer
// that maps bearer tokens to API keys: callers send "Authorization: Bearer <token>" and never
// see the key that meters them. It serves POST /2015-03-31/functions/{arn}/invocations for any
// function ARN, on a loopback address, without checking signatures: it is for trying
// authorizers locally (the README's walkthrough), not for production, where the function runs
// on AWS Lambda, LocalStack or another Invoke API.
//
//	TOKENS="token1=apikeyvalue1,token2=apikeyvalue2" go run ./examples/tokenauth -addr 127.0.0.1:9001
package main

import (
	"encoding/json"
	"flag"
	"log"
	"net/http"
	"os"
	"strings"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:9001", "listen address (keep it on loopback)")
	flag.Parse()
	tokens := map[string]string{}
	for _, pair := range strings.Split(os.Getenv("TOKENS"), ",") {
		if tok, key, ok := strings.Cut(strings.TrimSpace(pair), "="); ok && tok != "" && key != "" {
			tokens[tok] = key
		}
	}
	http.HandleFunc("POST /2015-03-31/functions/{arn}/invocations", func(w http.ResponseWriter, r *http.Request) {
		var ev struct {
			Type               string `json:"type"`
			AuthorizationToken string `json:"authorizationToken"`
			MethodArn          string `json:"methodArn"`
		}
		if err := json.NewDecoder(r.Body).Decode(&ev); err != nil || ev.Type != "TOKEN" {
			http.Error(w, `{"message":"not a TOKEN authorizer event"}`, http.StatusBadRequest)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		tok, _ := strings.CutPrefix(ev.AuthorizationToken, "Bearer ")
		key, ok := tokens[tok]
		if !ok {
			// The error API Gateway turns into 401 Unauthorized.
			w.Header().Set("X-Amz-Function-Error", "Unhandled")
			_ = json.NewEncoder(w).Encode(map[string]string{"errorMessage": "Unauthorized", "errorType": "Error"})
			return
		}
		// Allow every method of the stage, so one cached answer serves them all.
		parts := strings.SplitN(ev.MethodArn, "/", 3)
		resource := ev.MethodArn
		if len(parts) == 3 {
			resource = parts[0] + "/" + parts[1] + "/*"
		}
		_ = json.NewEncoder(w).Encode(map[string]any{
			"principalId": "token:" + tok[:min(4, len(tok))] + "…",
			"policyDocument": map[string]any{"Version": "2012-10-17", "Statement": []any{
				map[string]any{"Effect": "Allow", "Action": "execute-api:Invoke", "Resource": resource}}},
			"usageIdentifierKey": key,
		})
	})
	log.Printf("tokenauth: Lambda Invoke API on http://%s (%d tokens)", *addr, len(tokens))
	log.Fatal(http.ListenAndServe(*addr, nil))
}
