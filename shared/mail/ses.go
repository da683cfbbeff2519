package mail

import (
	"context"
	"crypto/tls"
	"errors"
	"net"
	"strconv"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/ses"
	"github.com/aws/aws-sdk-go-v2/service/ses/types"
	"github.com/aws/smithy-go"

	"sectorhub/shared/awsconf"
)

// SES sends mail with Amazon SES's SendRawEmail (the v1 API). It is a Sender.
type SES struct {
	client *ses.Client
	// configurationSet names the SES configuration set every mail is sent with (its bounce
	// and complaint events), or "" for none.
	configurationSet string
}

// NewSES returns an SES sender configured from a function's environment, cheaply (package
// awsconf): AWS_ENDPOINT_URL_SES points it at a local endpoint, and MAIL_CONFIGURATION_SET,
// when set, names the configuration set of every mail. The client does not retry: one
// SendRaw is one request, because a request whose answer is lost may have been accepted,
// and resending it would send the mail twice; the outbox retries what is safe to retry.
func NewSES(getenv func(string) string) *SES {
	client := ses.NewFromConfig(awsconf.FromEnv(getenv), func(o *ses.Options) {
		o.BaseEndpoint = awsconf.Endpoint(getenv, "SES")
		o.Retryer = aws.NopRetryer{}
	})
	return &SES{client: client, configurationSet: strings.TrimSpace(getenv("MAIL_CONFIGURATION_SET"))}
}

// SendRaw sends raw from from (SES's Source) to the addresses to (its Destinations, which
// may differ from the To header) and returns SES's message ID. Its error's text holds SES's
// error code, not SES's message (which can quote addresses); Code, Temporary and Permanent
// read the error beneath.
func (s *SES) SendRaw(ctx context.Context, from string, to []string, raw []byte) (string, error) {
	in := &ses.SendRawEmailInput{
		Source:       aws.String(from),
		Destinations: to,
		RawMessage:   &types.RawMessage{Data: raw},
	}
	if s.configurationSet != "" {
		in.ConfigurationSetName = aws.String(s.configurationSet)
	}
	out, err := s.client.SendRawEmail(ctx, in)
	if err != nil {
		return "", &sendError{err: err}
	}
	return aws.ToString(out.MessageId), nil
}

// sendError is a SendRawEmail error that prints only its code.
type sendError struct{ err error }

func (e *sendError) Error() string { return "ses: SendRawEmail: " + Code(e.err) }
func (e *sendError) Unwrap() error { return e.err }

// permanentCodes are the SES error codes that reject the mail itself: sending the same
// message again would be refused again. MessageRejected covers a message SES will not send
// (a virus, too large, an unverified address in the sandbox), InvalidParameterValue a
// malformed address or message.
//
// Errors about the account or its configuration are deliberately not here
// (MailFromDomainNotVerifiedException, ConfigurationSetDoesNotExist,
// ConfigurationSetSendingPausedException, AccountSendingPausedException, AccessDenied and
// other credential errors): they are not the mail's fault, an operator can fix them, and the
// mail should go when they do (within MaxAttempts).
var permanentCodes = map[string]bool{
	"MessageRejected":       true,
	"InvalidParameterValue": true,
}

// Permanent reports whether err is SES rejecting the mail itself (permanentCodes): the mail
// is failed, not retried.
func Permanent(err error) bool {
	var apiErr smithy.APIError
	return errors.As(err, &apiErr) && permanentCodes[apiErr.ErrorCode()]
}

// Temporary reports whether err means SES did not take the mail but may take it later, so
// that sending it again cannot make a second copy:
//
//   - SES answered with an error that is not Permanent: throttling (Throttling, including
//     "Maximum sending rate exceeded" and the daily quota), ServiceUnavailable,
//     InternalFailure and other 5xx answers, and account or configuration errors;
//   - the request never left: the connection was refused or the name did not resolve (dial
//     and DNS errors), or TLS failed before anything was sent.
//
// A timeout, a reset connection or a cancelled context after the request was written is not
// Temporary (nor Permanent): SES may have accepted the mail, so it is not sent again.
func Temporary(err error) bool {
	if err == nil || Permanent(err) {
		return false
	}
	if answered(err) {
		return true
	}
	return notSent(err)
}

// answered reports whether SES (or whatever stood in front of it) answered with an error.
func answered(err error) bool {
	var apiErr smithy.APIError
	if errors.As(err, &apiErr) {
		return true
	}
	var resp *awshttp.ResponseError
	return errors.As(err, &resp) && resp.HTTPStatusCode() >= 300
}

// notSent reports whether err happened before the request could reach the server.
func notSent(err error) bool {
	var op *net.OpError
	if errors.As(err, &op) && op.Op == "dial" {
		return true
	}
	var dns *net.DNSError
	if errors.As(err, &dns) {
		return true
	}
	var cert *tls.CertificateVerificationError
	return errors.As(err, &cert)
}

// Code returns a short code for a send error, for the outbox record and logs: SES's error
// code ("Throttling", "MessageRejected"), or "http_<status>", "dial", "timeout", "canceled"
// or "transport" when SES gave none; "" for nil. It never holds an address.
func Code(err error) string {
	if err == nil {
		return ""
	}
	var apiErr smithy.APIError
	if errors.As(err, &apiErr) {
		return apiErr.ErrorCode()
	}
	var resp *awshttp.ResponseError
	if errors.As(err, &resp) && resp.HTTPStatusCode() >= 300 {
		return "http_" + strconv.Itoa(resp.HTTPStatusCode())
	}
	var netErr net.Error
	switch {
	case notSent(err):
		return "dial"
	case errors.Is(err, context.Canceled):
		return "canceled"
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &netErr) && netErr.Timeout():
		return "timeout"
	}
	return "transport"
}
