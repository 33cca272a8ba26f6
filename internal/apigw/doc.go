// Package apigw is Tollgate's domain: the API Gateway resources (API keys, usage plans, REST APIs,
// stages …), their invariants and the error kinds every other package reports through.
//
// It depends on the standard library only. Wire shapes live in awswire, storage rows in the store
// backends; the types here are what the use cases (package control) reason about.
package apigw
