package netns

import "testing"

func TestResolvConf(t *testing.T) {
	tests := []struct {
		name, in, want string
		ok             bool
	}{
		{"systemd-resolved stub", "# stub\nnameserver 127.0.0.53\noptions edns0 trust-ad\nsearch lan\n",
			"# stub\nnameserver 10.0.2.3\noptions edns0 trust-ad\nsearch lan\n", true},
		{"loopback among others", "nameserver 127.0.0.1\nnameserver ::1\nnameserver 192.0.2.53\n",
			"nameserver 10.0.2.3\nnameserver 192.0.2.53\n", true},
		{"reachable resolver", "nameserver 10.255.255.53\n", "", false},
		{"empty", "", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := ResolvConf([]byte(tt.in))
			if ok != tt.ok || string(got) != tt.want {
				t.Fatalf("ResolvConf(%q) = %q, %v; want %q, %v", tt.in, got, ok, tt.want, tt.ok)
			}
		})
	}
}
