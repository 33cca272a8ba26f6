// Package authorizer holds what API Gateway's authorizers decide, apart from how a request
// reaches them: the Lambda authorizer's answer (principal, IAM policy, context, usage
// identifier key) and its evaluation against a method ARN, the result cache keyed by identity
// source values, and the validation of Cognito user-pool tokens against the pool's keys.
//
// The data plane (package dataplane) invokes the functions and feeds this package; the
// management API's TestInvokeAuthorizer uses the same code, so a test answers as a request
// would be answered.
package authorizer
