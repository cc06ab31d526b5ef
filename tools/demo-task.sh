# What the demo agent does, fed to `sh -s DIR PORT` on its stdin inside its
# pinfold session. Each step prints one line and is marked unexpected when
# an allowed step fails or a forbidden one succeeds; the exit status counts
# those. Only shell builtins and the programs the demo policy grants.
dir=$1
port=$2
bad=0

last_line() {
	while IFS= read -r l; do last=$l; done
	echo "$last"
}

step() {
	want=$1 name=$2
	shift 2
	if out=$("$@" 2>&1); then got=ok; else got=failed; fi
	note=
	[ "$got" = ok ] || note=": $(echo "$out" | last_line)"
	if [ "$want" != "$got" ]; then
		note="$note   <- unexpected"
		bad=$((bad + 1))
	fi
	printf '  %-7s %s%s\n' "$got" "$name" "$note"
}

git_commit() {
	git init -q repo && cd repo && echo '# demo' >README && git add README &&
		git -c user.name=agent -c user.email=agent@localhost commit -qm 'first commit'
}

compile() {
	printf '#include <stdio.h>\nint main(void){puts("built and ran");return 0;}\n' >hello.c &&
		cc -o hello hello.c && ./hello
}

fetch() {
	python3 -c 'import sys, urllib.request
print(urllib.request.urlopen(sys.argv[1], timeout=5).read().decode().strip())' \
		"http://127.0.0.1:$port/"
}

metadata() {
	python3 -c 'import socket; socket.create_connection(("169.254.169.254", 80), timeout=3)'
}

step ok "git init and commit in the workspace" git_commit
step ok "cc compiles and runs hello.c" compile
step ok "python3 runs" python3 -c 'import sys; print(sys.version.split()[0])'
step ok "python3 fetches from a loopback service" fetch
step failed "read ~/.ssh/id_ed25519 of the developer" cat "$dir/home/dev/.ssh/id_ed25519"
step failed "write a policy file into /etc/pinfold" \
	sh -c 'echo "[exec]" >"$1/etc/pinfold/agents.d/evil.ini"' sh "$dir"
step failed "write into /var/tmp" touch "/var/tmp/pinfold-demo-$$"
step failed "connect to 169.254.169.254:80 (cloud metadata)" metadata
step failed "run /usr/bin/id (not in its policy)" /usr/bin/id
exit "$bad"
