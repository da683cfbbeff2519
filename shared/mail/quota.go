package mail

import (
	"context"
	"math"

	"github.com/aws/aws-sdk-go-v2/service/ses"
)

// MaxSendRate returns the account's sending rate, in recipients a second, from SES's
// GetSendQuota (the v1 API): the most a bulk sender may send without being throttled. It
// returns 0 when SES reports no limit (SES, and the local capture, answer -1 for an
// unlimited quota), so that a caller never mistakes "unlimited" for a rate. Its error's text
// holds SES's error code, not SES's message; Code and Temporary read the error beneath.
func (s *SES) MaxSendRate(ctx context.Context) (float64, error) {
	out, err := s.client.GetSendQuota(ctx, &ses.GetSendQuotaInput{})
	if err != nil {
		return 0, &quotaError{err: err}
	}
	r := out.MaxSendRate
	if math.IsNaN(r) || r <= 0 {
		return 0, nil
	}
	return r, nil
}

// quotaError is a GetSendQuota error that prints only its code.
type quotaError struct{ err error }

func (e *quotaError) Error() string { return "ses: GetSendQuota: " + Code(e.err) }
func (e *quotaError) Unwrap() error { return e.err }
