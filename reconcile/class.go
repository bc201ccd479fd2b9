package reconcile

import "errors"

// ErrorClass sorts a failed pass the way an operator acts on it, after
// Flux's source-controller: a fault of the surroundings fixes itself and is
// retried with backoff; an error that needs a person (the deploy repo, the
// credentials or the host's trust must change) is reported and polled
// again on the schedule, so the fix deploys within one period.
type ErrorClass string

// Error classes, as shown in status, logs and the class label of
// reconciler_poll_errors_total.
const (
	ClassRetry       ErrorClass = "retry"
	ClassNeedsPerson ErrorClass = "needs_person"
)

// needsPerson are this package's errors that no wait fixes.
var needsPerson = []error{ErrInvalidDesired, errConflict, errUntrusted, errBadLocalConf, errNoDecrypter, errKnownMismatch}

// Classifier sorts an error; the caller that wires the concrete git and
// artifact clients knows their errors (Engine.Classify).
type Classifier func(error) ErrorClass

// Classify sorts err with this package's own errors (a hook that failed
// needs a person too); anything else is a fault to retry.
func Classify(err error) ErrorClass {
	if herr := (*hookError)(nil); errors.As(err, &herr) {
		return ClassNeedsPerson
	}
	for _, e := range needsPerson {
		if errors.Is(err, e) {
			return ClassNeedsPerson
		}
	}
	return ClassRetry
}

func (e *Engine) classify(err error) ErrorClass {
	if err == nil {
		return ""
	}
	if e.Classify != nil {
		return e.Classify(err)
	}
	return Classify(err)
}
