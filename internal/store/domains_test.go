package store

import (
	"errors"
	"reflect"
	"testing"
	"time"
)

func TestCustomDomains(t *testing.T) {
	s, _ := open(t)
	const one, two = "arn:svc/one", "arn:svc/two"
	// b is associated before a: a service's domains list in association order.
	b := CustomDomain{ServiceARN: one, Name: "b.example.com", WWW: true, Status: DomainCreating,
		CertStatus: CertPendingValidation, CreatedAt: t0, UpdatedAt: t0}
	a := CustomDomain{ServiceARN: one, Name: "a.example.com", Status: DomainCreating,
		CertStatus: CertPendingValidation, CreatedAt: t0.Add(time.Second), UpdatedAt: t0.Add(time.Second)}
	// Same time as a: the name breaks the tie.
	aa := CustomDomain{ServiceARN: one, Name: "aa.example.com", Status: DomainActive,
		CertStatus: CertSuccess, CreatedAt: a.CreatedAt, UpdatedAt: a.CreatedAt}
	c := CustomDomain{ServiceARN: two, Name: "*.example.org", Status: DomainCreating,
		CertStatus: CertPendingValidation, CreatedAt: t0, UpdatedAt: t0}
	gone := CustomDomain{ServiceARN: two, Name: "gone.example.org", Status: DomainDeleting,
		CertStatus: CertSuccess, CreatedAt: t0, UpdatedAt: t0}
	update(t, s, func(tx *Tx) error {
		for _, d := range []CustomDomain{c, aa, a, gone, b} {
			if err := tx.PutCustomDomain(d); err != nil {
				return err
			}
		}
		// An update changes all but CreatedAt.
		b.WWW, b.Status, b.Reason, b.CertStatus, b.UpdatedAt = false, DomainCreateFailed, "CNAME missing", CertFailed, t0.Add(time.Hour)
		changed := b
		changed.CreatedAt = t0.Add(2 * time.Hour)
		if err := tx.PutCustomDomain(changed); err != nil {
			return err
		}
		if err := tx.DeleteCustomDomain(gone.Name); err != nil {
			return err
		}
		return tx.DeleteCustomDomain("never.example.net")
	})
	view(t, s, func(tx *Tx) error {
		if got, err := tx.CustomDomain(b.Name); err != nil || !reflect.DeepEqual(got, b) {
			t.Errorf("CustomDomain(b) = %+v, %v; want %+v", got, err, b)
		}
		for _, name := range []string{gone.Name, "none.example.com"} {
			if _, err := tx.CustomDomain(name); !errors.Is(err, ErrNotFound) {
				t.Errorf("CustomDomain(%s) err = %v, want ErrNotFound", name, err)
			}
		}
		for _, tt := range []struct {
			service string
			want    []CustomDomain
		}{
			{"", []CustomDomain{b, a, aa, c}},
			{one, []CustomDomain{b, a, aa}},
			{two, []CustomDomain{c}},
			{"arn:svc/none", nil},
		} {
			if got, err := tx.CustomDomains(tt.service); err != nil || !reflect.DeepEqual(got, tt.want) {
				t.Errorf("CustomDomains(%q) = %+v, %v; want %+v", tt.service, got, err, tt.want)
			}
		}
		return nil
	})
}
