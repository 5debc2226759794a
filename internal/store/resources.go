package store

import "github.com/slipwayhq/slipway/internal/apprunner"

// queryAll runs a query and scans every row with scan.
func queryAll[T any](tx *Tx, scan func(scanner) (T, error), query string, args ...any) ([]T, error) {
	rows, err := tx.q.QueryContext(tx.ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []T
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}

// Config paths (JSON paths into a stored Config) of the resources a service
// refers to by ARN.
const (
	PathConnection    = "$.source.AuthenticationConfiguration.ConnectionArn"
	PathObservability = "$.observability.ObservabilityConfigurationArn"
	PathVpcConnector  = "$.network.EgressConfiguration.VpcConnectorArn"
)

// ServicesUsing lists the live services whose configuration has arn at
// path (one of the Path constants): the configuration in force, or the one
// an unfinished operation is deploying, since that one takes over when it
// succeeds.
func (tx *Tx) ServicesUsing(path, arn string) ([]string, error) {
	return queryAll(tx, func(row scanner) (string, error) {
		var s string
		return s, row.Scan(&s)
	}, `SELECT arn FROM services WHERE deleted_at = 0 AND json_extract(config, ?1) = ?2
		UNION
		SELECT o.service_arn FROM operations o JOIN services s ON s.arn = o.service_arn
		WHERE s.deleted_at = 0 AND o.status IN (?3, ?4) AND json_extract(o.config, ?1) = ?2
		ORDER BY 1`, path, arn, apprunner.OperationStatusPending, apprunner.OperationStatusInProgress)
}
