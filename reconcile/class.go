package reconcile

import "github.com/reconciler-dev/reconciler/internal/errclass"

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

// Classifier sorts an error; nil in Engine.Classify means Classify.
type Classifier func(error) ErrorClass

// Classify sorts err by the class it carries (errclass.Of): an error of
// any package that needs a person says so itself (this package's
// sentinels, a HookError, gitsrc's and artifacts' sentinels, agecfg's);
// anything else (the surroundings, or an error that says nothing of its
// cause) is retried.
func Classify(err error) ErrorClass {
	if errclass.Of(err) == errclass.NeedsPerson {
		return ClassNeedsPerson
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
