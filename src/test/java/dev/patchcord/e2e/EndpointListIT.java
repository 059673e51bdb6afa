package dev.patchcord.e2e;

import dev.patchcord.lab.Lab;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;

import static dev.patchcord.e2e.WireGuardPeers.*;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * A client whose peer lists two hubs that share one key ({@code Endpoint = DEAD, LIVE}): it starts
 * on the first, where nothing listens, moves to the second once its handshakes go unanswered, and
 * when that hub stops in turn it goes round the list to the first again, which has come up by then.
 */
@ExtendWith(LabExtension.class)
class EndpointListIT {
    private static final String C4 = "198.19.0.2";

    private static Path hub(Lab lab, String ifname, KeyPair hub, KeyPair client) throws Exception {
        return config(lab, ifname, """
                [Interface]
                PrivateKey = %s
                ListenPort = 51820
                Address = 10.98.0.2/24
                [Peer]
                PublicKey = %s
                AllowedIPs = 10.98.0.1/32
                """.formatted(hub.privateKey(), client.publicKey()));
    }

    private static boolean pings(Lab lab, String ns, Duration within) {
        return Lab.await(within, () -> lab.run(ns, Duration.ofSeconds(5), "ping", "-c", "1", "-W", "1", "10.98.0.2")
                .code() == 0);
    }

    @Test
    void theClientMovesToTheNextHubWhenOneDoesNotAnswer(Lab lab) throws Exception {
        String[] ns = Tunnels.pair(lab); // client a, live hub b (198.18.0.2)
        String c = lab.netns("c"); // the other hub, not running yet
        lab.link(ns[0], List.of("198.19.0.1/24"), c, List.of(C4 + "/24"));
        KeyPair client = keys(lab, ns[0]), hubKey = keys(lab, ns[1]);
        String ifB = ifname("b");
        patchcordUp(lab, ns[1], "hub-b", hub(lab, ifB, hubKey, client));
        String ifA = ifname("a");
        patchcordUp(lab, ns[0], "client", config(lab, ifA, """
                [Interface]
                PrivateKey = %s
                Address = 10.98.0.1/24
                [Peer]
                PublicKey = %s
                AllowedIPs = 10.98.0.2/32
                Endpoint = %s:51820 , %s:51820
                """.formatted(client.privateKey(), hubKey.publicKey(), C4, Tunnels.B4)), "--verbose");

        // Two initiations to the silent hub (about 5 s apart), then the third goes to the live one.
        assertThat(pings(lab, ns[0], Duration.ofSeconds(40))).as(lab.log("client")).isTrue();
        assertThat(lab.log("client")).contains("trying endpoint " + Tunnels.B4 + ":51820");
        assertThat(lab.sh(ns[0], "wg", "show", ifA, "endpoints")).contains(Tunnels.B4 + ":51820");
        Tunnels.ping(lab, ns[0], "10.98.0.2");

        // Hub c comes up with the same key, hub b stops: the client goes round to c.
        patchcordUp(lab, c, "hub-c", hub(lab, ifname("c"), hubKey, client));
        Tunnels.stop(lab, "hub-b");
        assertThat(pings(lab, ns[0], Duration.ofSeconds(90))).as(lab.log("client")).isTrue();
        assertThat(lab.log("client")).contains("trying endpoint " + C4 + ":51820");
        assertThat(lab.sh(ns[0], "wg", "show", ifA, "endpoints")).contains(C4 + ":51820");
        Tunnels.ping(lab, ns[0], "10.98.0.2");
    }
}
