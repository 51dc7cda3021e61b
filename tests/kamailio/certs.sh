#!/bin/sh
# tests/kamailio/certs.sh DIR - the certificates tests/e2e_frontend.c uses:
# a test CA; pchat.test (pchat's server certificate), kamailio.test (the front
# end's client certificate) and stranger.test signed by it; and kamailio.test
# again from a rogue CA pchat does not trust.  EC P-256, valid 2 days.
set -eu
d=$1
cd "$d"
ec="-newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes"
openssl req -x509 $ec -keyout ca.key -out ca.crt -days 2 -subj /CN=pchat-test-ca 2>/dev/null
openssl req -x509 $ec -keyout rogue-ca.key -out rogue-ca.crt -days 2 -subj /CN=pchat-test-ca 2>/dev/null
leaf() { # NAME CA
	openssl req -new $ec -keyout "$1.key" -out "$1.csr" -subj "/CN=$1.test" -addext "subjectAltName=DNS:$1.test" 2>/dev/null
	openssl x509 -req -in "$1.csr" -CA "$2.crt" -CAkey "$2.key" -CAcreateserial -days 2 -out "$1.crt" -copy_extensions copy 2>/dev/null
}
leaf pchat ca
leaf kamailio ca
leaf stranger ca
cp kamailio.key rogue.key
openssl req -new -key rogue.key -out rogue.csr -subj /CN=kamailio.test -addext subjectAltName=DNS:kamailio.test 2>/dev/null
openssl x509 -req -in rogue.csr -CA rogue-ca.crt -CAkey rogue-ca.key -CAcreateserial -days 2 -out rogue.crt -copy_extensions copy 2>/dev/null
