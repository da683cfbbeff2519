// Package templatecheck holds the test that keeps template.yaml and the code in step; it has no
// code of its own. The test (go test ./infra/templatecheck) checks that:
//
//   - every AWS::Serverless::Function's CodeUri is a package main that builds (host platform,
//     -tags lambda.norpc, as the local stack builds it);
//   - every HttpApi route has a handler: each function runs under the local Runtime API
//     (infra/localstack/lambdart) with the template's resolved Environment, is fed the route's
//     sample events from events/ (matched on routeKey), and must answer without a function
//     error, a 5xx or the router's "no route" 404; every sample with a routeKey matches a
//     route, and a route behind an authorizer has samples carrying JWT claims;
//   - every environment variable a function reads is set by the template: with only the
//     template's Environment plus what Lambda itself provides, each function gets through init
//     to its first /next; with any one template variable removed, it fails at init naming it
//     (so the template sets nothing the function does not read), but for the few optional ones
//     (optionalVariables, each with its reason);
//   - every S3 event has a sample in events/ for its bucket, prefix and suffix, and every S3
//     sample belongs to an S3 event of the template;
//   - every SNS event has a sample in events/ from its topic, which its function handles
//     without an error, and every SNS sample belongs to an SNS event of the template;
//   - every function allowed to send mail names the template's SES configuration set
//     (MAIL_CONFIGURATION_SET) and may send only from SenderAddress, with the identity and the
//     configuration set as its policy's resources; every configuration set publishes bounces
//     and complaints to an SNS topic that SES may publish to and a function subscribes to.
//
// The functions talk to embedded endpoints while they run (minidyn with the template's tables,
// an in-process S3 holding the template's buckets, the SES capture), passed the way the local
// stack passes them: AWS_ENDPOINT_URL_<SERVICE>. Those are not template variables.
package templatecheck
