package dev.patchcord.e2e;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.patchcord.core.wg.Keys;
import dev.patchcord.lab.Lab;
import dev.patchcord.lab.Self;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static dev.patchcord.e2e.Tunnels.B4;
import static dev.patchcord.e2e.WireGuardPeers.*;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assumptions.assumeThat;

/**
 * patchcord run as a service user would run it: an unprivileged uid with CAP_NET_ADMIN and no
 * other capability (set by {@code setpriv}, as systemd's AmbientCapabilities does), and with
 * none at all. End A is the unprivileged one; end B runs as root.
 */
@ExtendWith(LabExtension.class)
class LeastPrivilegeIT {
    /** A uid and gid no account uses. */
    private static final int UID = 64123;
    /** CAP_NET_ADMIN is capability 12. */
    private static final String NET_ADMIN_ONLY = "0000000000001000";
    private static final String NONE = "0000000000000000";

    private Path home;

    @BeforeEach
    void userDirectory() throws IOException {
        assumeThat(Path.of("/usr/bin/setpriv")).as("util-linux setpriv").exists();
        // The service user's own directory: its configuration, pid file and configuration socket.
        home = Files.createTempDirectory("patchcord-lp-");
        Files.setPosixFilePermissions(home, PosixFilePermissions.fromString("rwx------"));
        chown(home);
    }

    @AfterEach
    void removeUserDirectory() throws IOException {
        try (var paths = Files.walk(home)) {
            paths.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        }
    }

    private static void chown(Path p) throws IOException {
        Files.setAttribute(p, "unix:uid", UID);
        Files.setAttribute(p, "unix:gid", UID);
    }

    /** The setpriv prefix: this uid and gid, no supplementary groups, and the given capabilities only. */
    private static List<String> as(boolean netAdmin) {
        String caps = netAdmin ? "-all,+net_admin" : "-all";
        return List.of("setpriv", "--reuid=" + UID, "--regid=" + UID, "--clear-groups", "--inh-caps=" + caps,
                "--ambient-caps=" + caps, "--bounding-set=" + caps);
    }

    /** The unprivileged command: environment for the user's directories, setpriv, then patchcord. */
    private List<String> command(boolean netAdmin, String... args) {
        List<String> cmd = new ArrayList<>(List.of("env", "PATCHCORD_RUN_DIR=" + home.resolve("run"),
                "PATCHCORD_SOCKET_DIR=" + home.resolve("sock"),
                // No /tmp/hsperfdata_<uid> left behind.
                "PATCHCORD_JAVA_OPTS=-XX:-UsePerfData " + System.getenv().getOrDefault("PATCHCORD_JAVA_OPTS", "")));
        cmd.addAll(as(netAdmin));
        cmd.addAll(Self.command(args));
        return cmd;
    }

    /** A configuration the service user owns, mode 0600. */
    private Path userConfig(String ifname, String text) throws IOException {
        Path file = home.resolve(ifname + ".conf");
        Files.writeString(file, text);
        Files.setPosixFilePermissions(file, PosixFilePermissions.fromString("rw-------"));
        chown(file);
        return file;
    }

    private record Ends(String a, String b, KeyPair ka, KeyPair kb, String psk) {}

    /** Two namespaces; B (root, 10.81.0.2) is up. Its configuration is left readable by all, to be warned about. */
    private Ends rootPeer(Lab lab) throws IOException {
        String[] ns = Tunnels.pair(lab);
        KeyPair ka = keys(lab, ns[0]), kb = keys(lab, ns[1]);
        String psk = psk(lab, ns[0]);
        String ifB = ifname("b");
        Path confB = config(lab, ifB, """
                [Interface]
                PrivateKey = %s
                ListenPort = 51820
                Address = 10.81.0.2/24
                [Peer]
                PublicKey = %s
                PresharedKey = %s
                AllowedIPs = 10.81.0.1/32
                """.formatted(kb.privateKey(), ka.publicKey(), psk));
        Files.setPosixFilePermissions(confB, PosixFilePermissions.fromString("rw-r--r--"));
        patchcordUp(lab, ns[1], "root-b", confB, "--verbose");
        return new Ends(ns[0], ns[1], ka, kb, psk);
    }

    private String configA(Ends e, String interfaceExtra) {
        return """
                [Interface]
                PrivateKey = %s
                %s
                [Peer]
                PublicKey = %s
                PresharedKey = %s
                AllowedIPs = 10.81.0.2/32
                Endpoint = %s:51820
                """.formatted(e.ka().privateKey(), interfaceExtra, e.kb().publicKey(), e.psk(), B4);
    }

    /** The capability and uid lines of a live process's status. */
    private static Map<String, String> status(long pid) throws IOException {
        String s = Files.readString(Path.of("/proc/" + pid + "/status"));
        Map<String, String> m = new java.util.HashMap<>();
        Matcher x = Pattern.compile("(?m)^(Name|Uid|Gid|Groups|Cap\\w+):[ \\t]*(.*)$").matcher(s);
        while (x.find()) {
            m.put(x.group(1), x.group(2).strip());
        }
        return m;
    }

    private static void assertOnlyNetAdmin(Process p) throws IOException {
        Map<String, String> st = status(p.pid());
        assertThat(Files.readString(Path.of("/proc/" + p.pid() + "/cmdline"))).as("the JVM itself").contains("patchcord");
        assertThat(st.get("Uid").split("\\s+")).containsOnly(String.valueOf(UID));
        assertThat(st.get("Gid").split("\\s+")).containsOnly(String.valueOf(UID));
        assertThat(st.get("Groups")).isEmpty();
        for (String set : List.of("CapEff", "CapPrm", "CapInh", "CapAmb", "CapBnd")) {
            assertThat(st.get(set)).as(set).isEqualTo(NET_ADMIN_ONLY);
        }
    }

    /** No private or preshared key, in base64 or hex, in a log. */
    private static void assertNoSecrets(String log, String... base64Keys) {
        for (String k : base64Keys) {
            assertThat(log).doesNotContain(k).doesNotContain(HexFormat.of().formatHex(Keys.fromBase64(k)));
        }
    }

    @Test
    void anUnprivilegedUserWithOnlyNetAdminRunsAnEncryptedTunnel(Lab lab) throws Exception {
        Ends e = rootPeer(lab);
        String ifA = ifname("u");
        Path confA = userConfig(ifA, configA(e, "Address = 10.81.0.1/24\nListenPort = 51820"));
        Process a = lab.spawn(e.a(), "user-a", command(true, "up", "--foreground", "--verbose", confA.toString()));
        Tunnels.awaitReady(lab, "user-a", a);
        assertOnlyNetAdmin(a);

        Tunnels.reach(lab, e.a(), "10.81.0.2");
        Tunnels.ping(lab, e.b(), "10.81.0.1");
        // The user's configuration socket, read by patchcord show: the public key, never the private one unasked.
        String env = "PATCHCORD_SOCKET_DIR=" + home.resolve("sock");
        assertThat(Files.getAttribute(home.resolve("sock").resolve(ifA + ".sock"), "unix:uid")).isEqualTo(UID);
        JsonNode dev = new ObjectMapper().readTree(lab.sh(e.a(), concat(List.of("env", env), Self.command("show", ifA, "--json"))))
                .get(0);
        assertThat(dev.get("public_key").asText()).isEqualTo(e.ka().publicKey());
        assertThat(dev.has("private_key")).isFalse();
        assertThat(dev.get("peers").get(0).get("preshared_key").asBoolean()).isTrue();
        assertThat(dev.toString()).doesNotContain(e.ka().privateKey()).doesNotContain(e.psk());
        JsonNode shown = new ObjectMapper().readTree(lab.sh(e.a(),
                concat(List.of("env", env), Self.command("show", ifA, "--json", "--show-keys")))).get(0);
        assertThat(shown.get("private_key").asText()).isEqualTo(e.ka().privateKey());
        assertThat(shown.get("peers").get(0).get("preshared_key_value").asText()).isEqualTo(e.psk());

        assertThat(lab.stop("user-a", Duration.ofSeconds(15))).as(lab.log("user-a")).isZero();
        assertThat(lab.hasInterface(e.a(), ifA)).as("the interface it created goes with it").isFalse();
        String logA = lab.log("user-a"), logB = lab.log("root-b");
        assertThat(logA).doesNotContain("Warning:").doesNotContain("Exception");
        assertThat(logB).contains("is world accessible").as("verbose output was written").contains("is now at");
        // -d on both ends: handshakes are logged, keys never.
        assertNoSecrets(logA + logB, e.ka().privateKey(), e.kb().privateKey(), e.psk());
    }

    @Test
    void aPersistentTunOwnedByTheUserIsUsedAndLeftInPlace(Lab lab) throws Exception {
        Ends e = rootPeer(lab);
        String ifA = ifname("p");
        lab.ip(e.a(), "tuntap", "add", "dev", ifA, "mode", "tun", "user", String.valueOf(UID));
        Path confA = userConfig(ifA, configA(e, "Address = 10.81.0.1/24\nListenPort = 51820"));
        for (int run = 1; run <= 2; run++) {
            String name = "user-a-" + run;
            Process a = lab.spawn(e.a(), name, command(true, "up", "--foreground", confA.toString()));
            Tunnels.awaitReady(lab, name, a);
            assertOnlyNetAdmin(a);
            assertThat(lab.log(name)).contains("using the existing persistent interface");
            Tunnels.reach(lab, e.a(), "10.81.0.2");
            assertThat(lab.stop(name, Duration.ofSeconds(15))).as(lab.log(name)).isZero();
            // Still there, as it was found: without this run's address and route.
            assertThat(lab.hasInterface(e.a(), ifA)).as("run " + run + " leaves the persistent interface").isTrue();
            assertThat(lab.ip(e.a(), "-4", "address", "show", "dev", ifA)).doesNotContain("10.81.0.1");
            assertThat(lab.ip(e.a(), "-4", "route", "show", "dev", ifA)).doesNotContain("10.81.0.2");
        }
        assertThat(lab.ip(e.a(), "-d", "link", "show", ifA)).contains("persist on").contains("user " + UID);
    }

    @Test
    void withoutAnyCapabilityEachRefusalIsOneLineNamingTheCapability(Lab lab) throws Exception {
        Ends e = rootPeer(lab);
        Lab.Result probe = lab.run(e.a(), Duration.ofSeconds(10),
                concat(as(false), List.of("grep", "^Cap", "/proc/self/status")));
        assertThat(probe.output()).as("what setpriv leaves").doesNotContain("1000").contains("CapEff:\t" + NONE)
                .contains("CapAmb:\t" + NONE).contains("CapBnd:\t" + NONE);

        // No interface to open: creating one is refused.
        String ifNew = ifname("n");
        Lab.Result create = lab.run(e.a(), Duration.ofSeconds(60),
                command(false, "up", "--foreground", userConfig(ifNew, configA(e, "Address = 10.81.0.1/24")).toString())
                        .toArray(String[]::new));
        assertThat(create.code()).isEqualTo(1);
        assertThat(create.output().strip()).isEqualTo("patchcord: cannot create TUN interface '" + ifNew
                + "' (run as root or with CAP_NET_ADMIN): Operation not permitted");

        // The user's persistent interface opens, but an address is the administrator's to set.
        String ifP = ifname("q");
        lab.ip(e.a(), "tuntap", "add", "dev", ifP, "mode", "tun", "user", String.valueOf(UID));
        Path conf = userConfig(ifP, configA(e, "Address = 10.81.0.1/24"));
        Lab.Result address = lab.run(e.a(), Duration.ofSeconds(60),
                command(false, "up", "--foreground", conf.toString()).toArray(String[]::new));
        assertThat(address.code()).isEqualTo(1);
        List<String> lines = address.output().strip().lines().toList();
        assertThat(lines.getLast()).startsWith("patchcord: cannot set MTU 1420 on " + ifP)
                .endsWith("(needs CAP_NET_ADMIN): Operation not permitted");
        assertThat(address.output()).doesNotContain("Exception").doesNotContain("\tat ");

        // With MTU and link prepared by root, only the address is missing.
        lab.ip(e.a(), "link", "set", ifP, "mtu", "1420", "up");
        address = lab.run(e.a(), Duration.ofSeconds(60), command(false, "up", "--foreground", conf.toString()).toArray(String[]::new));
        assertThat(address.code()).isEqualTo(1);
        assertThat(address.output().strip().lines().toList().getLast()).isEqualTo("patchcord: ip -4 address replace 10.81.0.1/24 dev "
                + ifP + ": RTNETLINK answers: Operation not permitted (needs CAP_NET_ADMIN)");
        assertThat(lab.hasInterface(e.a(), ifP)).isTrue();

        // With the address set by root too, no capability at all is needed.
        lab.ip(e.a(), "address", "add", "10.81.0.1/24", "dev", ifP);
        Files.writeString(conf, configA(e, "Table = off"));
        Process a = lab.spawn(e.a(), "user-a", command(false, "up", "--foreground", conf.toString()));
        Tunnels.awaitReady(lab, "user-a", a);
        assertThat(status(a.pid()).get("CapEff")).isEqualTo(NONE);
        assertThat(status(a.pid()).get("CapPrm")).isEqualTo(NONE);
        Tunnels.reach(lab, e.a(), "10.81.0.2");
        assertThat(lab.stop("user-a", Duration.ofSeconds(15))).as(lab.log("user-a")).isZero();
    }

    private static String[] concat(List<String> a, List<String> b) {
        List<String> all = new ArrayList<>(a);
        all.addAll(b);
        return all.toArray(String[]::new);
    }
}
