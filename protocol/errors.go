package protocol

import "fmt"

// Error codes. The ERR_* strings are those of sharedb; clients react to
// several of them specially (see sharedb-protocol.md section 3).
const (
	ErrMessageBadlyFormed          = "ERR_MESSAGE_BADLY_FORMED"
	ErrOpBadlyFormed               = "ERR_OT_OP_BADLY_FORMED"
	ErrOpNotApplied                = "ERR_OT_OP_NOT_APPLIED"
	ErrDocAlreadyCreated           = "ERR_DOC_ALREADY_CREATED"
	ErrDocDoesNotExist             = "ERR_DOC_DOES_NOT_EXIST"
	ErrDocWasDeleted               = "ERR_DOC_WAS_DELETED"
	ErrDocTypeNotRecognized        = "ERR_DOC_TYPE_NOT_RECOGNIZED"
	ErrOpVersionNewer              = "ERR_OP_VERSION_NEWER_THAN_CURRENT_SNAPSHOT"
	ErrOpVersionMismatchDuring     = "ERR_OP_VERSION_MISMATCH_DURING_TRANSFORM"
	ErrSubmitTransformOpsNotFound  = "ERR_SUBMIT_TRANSFORM_OPS_NOT_FOUND"
	ErrMaxSubmitRetriesExceeded    = "ERR_MAX_SUBMIT_RETRIES_EXCEEDED"
	ErrConnectionSeqOverflow       = "ERR_CONNECTION_SEQ_INTEGER_OVERFLOW"
	ErrTypeDoesNotSupportPresence  = "ERR_TYPE_DOES_NOT_SUPPORT_PRESENCE"
	ErrPresenceTransformFailed     = "ERR_PRESENCE_TRANSFORM_FAILED"
	ErrUnknownError                = "ERR_UNKNOWN_ERROR"
	ErrQueryNotSupported           = "ERR_DATABASE_DOES_NOT_SUPPORT_SUBSCRIBE"
	ErrOpSubmitRejected            = "ERR_OP_SUBMIT_REJECTED"
	ErrSnapshotReadSilentRejection = "ERR_SNAPSHOT_READ_SILENT_REJECTION"

	// Codes of Tandem's own; the client treats them like any other error
	// (a rejected op is rolled back).

	// ErrForbidden: the connection's role does not allow the request.
	ErrForbidden = "ERR_FORBIDDEN"
	// ErrRateLimited: too many messages; retry later.
	ErrRateLimited = "ERR_RATE_LIMITED"
	// ErrTooLarge: a message or document exceeds a configured limit.
	ErrTooLarge = "ERR_TOO_LARGE"
	// ErrStoreUnavailable: the store could not be reached; retryable.
	ErrStoreUnavailable = "ERR_STORE_UNAVAILABLE"
	// ErrStoreRejected: the store cannot hold this data or name (for
	// example MongoDB's reserved field names); retrying cannot help.
	ErrStoreRejected = "ERR_STORE_REJECTED"
	// ErrTooManySubscriptions: the per-connection subscription limit.
	ErrTooManySubscriptions = "ERR_TOO_MANY_SUBSCRIPTIONS"
	// ErrShuttingDown: the server is stopping; reconnect elsewhere.
	ErrShuttingDown = "ERR_SHUTTING_DOWN"
)

// Error is an error reported to a client as error:{code, message}.
type Error struct {
	Code    string
	Message string
}

func (e *Error) Error() string { return e.Code + ": " + e.Message }

// Errorf returns an *Error with code and a formatted message.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// BadlyFormed returns an ERR_MESSAGE_BADLY_FORMED error.
func BadlyFormed(msg string) *Error { return &Error{Code: ErrMessageBadlyFormed, Message: msg} }
