package console

import (
	"testing"
	"time"
)

// checkDomains drives the Domains tab of a running service: a refused
// wildcard, an association with its www subdomain, and a disassociation
// confirmed by typing the name. Names under .test never resolve, so no
// certificate is ever issued for them; what the engine does with the
// domain meanwhile is its own tests' business, so only the console's part
// is checked here.
func checkDomains(t *testing.T, b *browser, servicePath string) {
	t.Helper()
	b.navigate(servicePath + "/domains")
	b.waitFor("the associate button enabled", `!document.querySelector("#associate").disabled`, 10*time.Second)
	if !eval[bool](b, `document.querySelector("#www").checked`) {
		t.Errorf("the www checkbox is not checked by default")
	}

	// The control plane's refusal shows as other errors do, and the form
	// comes back as typed.
	b.fill("#domain_name", "*.example.test")
	b.click("#associate")
	b.waitFor("the wildcard refusal", `document.querySelector("#form-error").textContent.includes("wildcard domains need DNS-01")`, 10*time.Second)
	if got := eval[string](b, `document.querySelector("#domain_name").value`); got != "*.example.test" {
		t.Errorf("after the refusal the domain field holds %q, want the name as typed", got)
	}

	b.fill("#domain_name", "shop.example.test")
	b.click("#associate")
	row := `document.querySelector("tr[data-domain='shop.example.test']")`
	b.waitFor("the associated domain", row+` && document.querySelector(".flash").textContent.includes("Associated shop.example.test")`, 10*time.Second)
	if got := b.text("tr[data-domain='shop.example.test']"); !contains(got, "www.shop.example.test") {
		t.Errorf("domain row %q does not name the www subdomain", got)
	}
	// Once the engine asks for the certificate the records appear, live;
	// the screenshot waits a little for them.
	eval[int](b, `window.__noReload = 7`)
	if b.holds(`document.querySelector("tr[data-record='www.shop.example.test']")`, 10*time.Second) {
		if got := b.text("tr[data-record='shop.example.test']"); !contains(got, "CNAME") || !contains(got, ".localhost") {
			t.Errorf("DNS record row %q, want a CNAME to the service's host", got)
		}
		if eval[int](b, `window.__noReload || 0`) != 7 {
			t.Errorf("the page reloaded to show the records; want a live update")
		}
	}
	b.screenshot("domains")

	// Disassociate: the row's button opens the confirmation, which works
	// once the name is typed.
	b.click("tr[data-domain='shop.example.test'] a.button")
	b.waitFor("the confirmation, disabled", `document.querySelector("#disassociate-confirm").disabled`, 10*time.Second)
	b.typeText("#confirm", "shop.example.test")
	b.waitFor("the confirmation enabled", `!document.querySelector("#disassociate-confirm").disabled`, 5*time.Second)
	b.click("#disassociate-confirm")
	b.waitFor("the disassociation", `location.search.startsWith("?disassociated=") && document.querySelector(".flash").textContent.includes("isassociat")`+
		` && (!`+row+` || `+row+`.dataset.status === "deleting")`, 10*time.Second)
}
