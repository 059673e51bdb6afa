package dev.patchcord.e2e;

import dev.patchcord.lab.Lab;
import dev.patchcord.lab.Self;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.List;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static dev.patchcord.e2e.WireGuardPeers.*;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * Server-assigned addresses: a patchcord server with a [Pool] (and Hub = true) and clients, each
 * in its own namespace on its own veth, all with {@code Address = auto}: ten at once, and four
 * with short lease and dead-peer times (4 s, 5 s) so that refusal, expiry and a server restart
 * happen within the test.
 */
@ExtendWith(LabExtension.class)
class PoolIT {
    private static final int PORT = 51820;
    private static final int CLIENTS = 4;
    private static final Pattern LEASED = Pattern.compile("address (\\S+)/24 from the server \\(lease \\d+ s\\)");

    private record Setup(String srv, String[] ns, String[] ifs, KeyPair[] keys, KeyPair srvKeys, Path leases,
                         Path srvConf) {}

    /** A server with a [Pool] (short lease and dead-peer times) and {@code clients} namespaces joined to it. */
    private static Setup setup(Lab lab, int clients, int leaseTime, int deadPeer) throws Exception {
        String srv = lab.netns("srv");
        String[] ns = new String[clients];
        String[] ifs = new String[clients];
        KeyPair[] keys = new KeyPair[clients];
        for (int i = 0; i < clients; i++) {
            ns[i] = lab.netns("c" + (i + 1));
            lab.link(srv, List.of("198.18." + (i + 1) + ".1/24"), ns[i], List.of("198.18." + (i + 1) + ".2/24"));
            ifs[i] = ifname("c" + (i + 1));
            keys[i] = keys(lab, ns[i]);
        }
        KeyPair srvKeys = keys(lab, srv);
        Path leases = lab.logDir().resolve("srv.leases");
        StringBuilder conf = new StringBuilder("""
                [Interface]
                PrivateKey = %s
                ListenPort = %d
                Address = 10.9.0.1/24
                Hub = true
                [Pool]
                Range = 10.9.0.0/24
                LeaseTime = %d
                DeadPeerTimeout = %d
                Routes = 10.9.0.0/24
                LeaseFile = %s
                """.formatted(srvKeys.privateKey(), PORT, leaseTime, deadPeer, leases));
        for (KeyPair k : keys) {
            conf.append("[Peer]\nPublicKey = ").append(k.publicKey()).append('\n');
        }
        Path srvConf = config(lab, ifname("s"), conf.toString());
        patchcordUp(lab, srv, "srv", srvConf, "--verbose");
        return new Setup(srv, ns, ifs, keys, srvKeys, leases, srvConf);
    }

    @Test
    void tenClientsGetDistinctAddressesAndReachTheServerAndEachOther(Lab lab) throws Exception {
        int n = 10;
        Setup s = setup(lab, n, 3600, 300);
        String[] addr = new String[n];
        for (int i = 0; i < n; i++) {
            patchcordUp(lab, s.ns()[i], "c" + (i + 1), config(lab, s.ifs()[i], client(s.keys()[i], s.srvKeys(), i + 1, "auto")));
        }
        for (int i = 0; i < n; i++) {
            addr[i] = awaitLease(lab, "c" + (i + 1));
        }
        assertThat(Set.of(addr)).as("distinct").hasSize(n).doesNotContain("10.9.0.1");
        for (int i = 0; i < n; i++) {
            Tunnels.ping(lab, s.ns()[i], "10.9.0.1");
            Tunnels.ping(lab, s.ns()[i], addr[(i + 1) % n]); // each to the next, around the ring
        }
    }

    @Test
    void clientsLeaseDistinctAddressesRefusalsExpiryAndRestart(Lab lab) throws Exception {
        Setup setup = setup(lab, CLIENTS, 4, 5);
        String srv = setup.srv();
        String[] ns = setup.ns();
        String[] ifs = setup.ifs();
        KeyPair[] keys = setup.keys();
        KeyPair srvKeys = setup.srvKeys();
        Path leases = setup.leases();
        Path srvConf = setup.srvConf();

        // Three clients ask for any address: each gets its own.
        String[] addr = new String[CLIENTS];
        Path[] confs = new Path[CLIENTS];
        for (int i = 0; i < 3; i++) {
            confs[i] = config(lab, ifs[i], client(keys[i], srvKeys, i + 1, "auto"));
            patchcordUp(lab, ns[i], "c" + (i + 1), confs[i]);
            addr[i] = awaitLease(lab, "c" + (i + 1));
        }
        assertThat(Set.of(addr[0], addr[1], addr[2])).hasSize(3).doesNotContain("10.9.0.1");
        for (int i = 0; i < 3; i++) {
            assertThat(lab.ip(ns[i], "-4", "address", "show", "dev", ifs[i])).contains(addr[i] + "/24");
            Tunnels.ping(lab, ns[i], "10.9.0.1");
        }
        Tunnels.ping(lab, ns[0], addr[1]); // client to client through the hub
        Tunnels.ping(lab, ns[2], addr[0]);

        // The fourth asks for the first one's address: a clear refusal, exit code 1.
        Path taken = config(lab, ifs[3], client(keys[3], srvKeys, 4, "auto, " + addr[0]));
        Process refused = lab.spawn(ns[3], "c4", Self.command("up", "--foreground", taken.toString()));
        assertThat(refused.waitFor(30, java.util.concurrent.TimeUnit.SECONDS)).as(lab.log("c4")).isTrue();
        assertThat(refused.exitValue()).as(lab.log("c4")).isEqualTo(1);
        assertThat(lab.log("c4")).contains("address refused: " + addr[0]).contains("(address-in-use)");

        // Client 3 disappears (killed, nothing said): its lease ends after the term and the timeout.
        lab.processes().get("c3").destroyForcibly().waitFor();
        // A killed process cleans nothing up: remove what it left, as an init system would.
        java.nio.file.Files.deleteIfExists(Path.of("/run/patchcord/" + ifs[2] + ".pid"));
        java.nio.file.Files.deleteIfExists(Path.of("/var/run/wireguard/" + ifs[2] + ".sock"));
        assertThat(Lab.await(Duration.ofSeconds(30), () -> lab.log("srv").contains("lease of " + addr[2])))
                .as(lab.log("srv")).isTrue();
        // Now client 4 may have that very address.
        Path freed = config(lab, ifs[3], client(keys[3], srvKeys, 4, "auto, " + addr[2]));
        patchcordUp(lab, ns[3], "c4b", freed);
        assertThat(awaitLease(lab, "c4b")).isEqualTo(addr[2]);
        Tunnels.ping(lab, ns[3], addr[0]);

        // The server restarts with the same configuration: the leases survive in the lease file.
        Tunnels.stop(lab, "srv");
        assertThat(Files.exists(leases)).isTrue();
        assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(leases))).isEqualTo("rw-------");
        String saved = Files.readString(leases);
        assertThat(saved).contains(keys[0].publicKey() + " " + addr[0] + " ")
                .contains(keys[1].publicKey() + " " + addr[1] + " ");
        patchcordUp(lab, srv, "srv2", srvConf, "--verbose");
        assertThat(lab.log("srv2")).contains("3 leases restored from " + leases);
        // A client that reconnects gets the same address back.
        Tunnels.stop(lab, "c2");
        patchcordUp(lab, ns[1], "c2b", confs[1]);
        assertThat(awaitLease(lab, "c2b")).isEqualTo(addr[1]);
        Tunnels.ping(lab, ns[1], "10.9.0.1");
        // A client that kept running holds a session the new server does not know: like any
        // WireGuard peer it handshakes again once its packets go unanswered (about 15 s).
        assertThat(Lab.await(Duration.ofSeconds(45), () -> lab.run(ns[0], Duration.ofSeconds(5), "ping", "-c", "1",
                "-W", "1", addr[1]).code() == 0)).as(lab.log("c1")).isTrue();
    }

    private static String awaitLease(Lab lab, String name) {
        assertThat(Lab.await(Duration.ofSeconds(30), () -> LEASED.matcher(lab.log(name)).find()))
                .as(name + " leased an address; log:\n" + lab.log(name)).isTrue();
        Matcher m = LEASED.matcher(lab.log(name));
        assertThat(m.find()).isTrue();
        return m.group(1);
    }

    private static String client(KeyPair self, KeyPair srv, int link, String address) {
        return """
                [Interface]
                PrivateKey = %s
                Address = %s
                [Peer]
                PublicKey = %s
                AllowedIPs = 10.9.0.0/24
                Endpoint = 198.18.%d.1:%d
                PersistentKeepalive = 1
                """.formatted(self.privateKey(), address, srv.publicKey(), link, PORT);
    }
}
