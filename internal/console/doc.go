// Package console is Tollgate's web console, served at /_tollgate/console/ when --console is
// on: usage plans, API keys, a key's usage chart and a live overview of the data plane, for the
// people who run an API business and should not need the AWS CLI to look up a customer's key.
//
// It has no write path of its own. Every read and write is an API Gateway call made with
// aws-sdk-go-v2, signed with the signed-in user's own management credentials, and dispatched in
// process to the management API's handler: the same authentication, validation, errors, audit
// records and snapshot updates as a CLI call, by construction. The secret stays on the server,
// in the session, and is dropped at sign-out or expiry; the browser holds an opaque session
// cookie (HttpOnly, SameSite=Strict, Secure under TLS) and writes carry a CSRF token.
//
// Pages are server-rendered html/template with one embedded stylesheet and one small script
// (charts drawn as SVG, live figures polled from the console's JSON endpoints, which work the
// same on both serving engines): no build step and nothing fetched from elsewhere. The only
// thing running while nobody looks is the overview's sampler, a few atomic loads per deployed
// method every two seconds.
package console
