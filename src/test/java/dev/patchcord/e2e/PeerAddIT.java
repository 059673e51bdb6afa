package dev.patchcord.e2e;

import dev.patchcord.lab.Lab;
import dev.patchcord.lab.Self;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;

import static dev.patchcord.e2e.Tunnels.B4;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * Client provisioning against a running server: {@code patchcord peer add} gives the running
 * interface the new peer at once (no restart), the configuration it prints brings a client up in
 * another namespace, and {@code peer remove} takes the peer away again, live.
 */
@ExtendWith(LabExtension.class)
class PeerAddIT {

    private static String[] patchcord(String... args) {
        return Self.command(args).toArray(String[]::new);
    }

    @Test
    void aClientAddedLiveConnectsWithThePrintedConfigAndIsRemovedLive(Lab lab) throws Exception {
        String[] ns = Tunnels.pair(lab);
        String server = WireGuardPeers.ifname("ps");
        WireGuardPeers.KeyPair keys = WireGuardPeers.keys(lab, ns[1]);
        Path serverConf = WireGuardPeers.config(lab, server, """
                [Interface]
                PrivateKey = %s
                ListenPort = 51830
                Address = 10.67.0.1/24, fd00:67::1/64
                PublicEndpoint = %s:51830
                """.formatted(keys.privateKey(), B4));
        WireGuardPeers.patchcordUp(lab, ns[1], "server", serverConf);

        String client = WireGuardPeers.ifname("pc");
        Path clientConf = lab.logDir().resolve(client + ".conf");
        Lab.Result add = lab.run(ns[1], Duration.ofSeconds(60),
                patchcord("peer", "add", serverConf.toString(), "alice", "--output", clientConf.toString()));
        assertThat(add.code()).as(add.output()).isZero();
        assertThat(add.output()).contains("to the running " + server, "Address = 10.67.0.2/32, fd00:67::2/128");

        // The running server has the peer without a restart: its UAPI lists the new key.
        String shown = lab.run(ns[1], Duration.ofSeconds(30), patchcord("show", server)).output();
        String clientConfig = Files.readString(clientConf);
        assertThat(shown).contains("10.67.0.2/32");

        WireGuardPeers.patchcordUp(lab, ns[0], "client", clientConf);
        Tunnels.reach(lab, ns[0], "10.67.0.1");
        Tunnels.ping(lab, ns[0], "fd00:67::1");
        assertThat(clientConfig).contains("Endpoint = " + B4 + ":51830");

        Lab.Result list = lab.run(ns[1], Duration.ofSeconds(30), patchcord("peer", "list", serverConf.toString()));
        assertThat(list.output()).contains("alice\t");

        Lab.Result remove = lab.run(ns[1], Duration.ofSeconds(30), patchcord("peer", "remove", serverConf.toString(), "alice"));
        assertThat(remove.code()).as(remove.output()).isZero();
        assertThat(lab.run(ns[1], Duration.ofSeconds(30), patchcord("show", server)).output()).doesNotContain("10.67.0.2/32");
        Lab.Result gone = lab.run(ns[0], Duration.ofSeconds(20), "ping", "-c", "3", "-i", "0.3", "-W", "1", "10.67.0.1");
        assertThat(gone.code()).as("a removed client is no longer answered:\n" + gone.output()).isNotZero();
        assertThat(Files.readString(serverConf)).doesNotContain("alice");
    }
}
