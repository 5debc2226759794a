package apprunner

// Operation describes one App Runner API operation as modeled.
type Operation struct {
	Name   string   // e.g. "CreateService", the text after "AppRunner." in X-Amz-Target
	Input  string   // input shape name, e.g. "CreateServiceRequest"
	Output string   // output shape name, e.g. "CreateServiceResponse"
	Errors []string // modeled error shape names, sorted

	Paginated  bool
	Pagination Pagination // set when Paginated
}

// Pagination names the members of a paginated operation (Smithy @paginated).
type Pagination struct {
	InputToken  string // input member carrying the token, "NextToken"
	OutputToken string // output member carrying the token, "NextToken"
	Items       string // output list member, e.g. "ServiceSummaryList"
	PageSize    string // input member with the page size, "MaxResults"
}

// ErrorShape is a modeled error: its name (the __type code), HTTP status and fault side.
type ErrorShape struct {
	Name       string
	HTTPStatus int
	Fault      string // "client" or "server"
}

// LookupOperation returns the operation with the given name.
func LookupOperation(name string) (Operation, bool) {
	for _, op := range Operations {
		if op.Name == name {
			return op, true
		}
	}
	return Operation{}, false
}
