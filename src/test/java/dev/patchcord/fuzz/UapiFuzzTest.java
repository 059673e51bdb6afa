package dev.patchcord.fuzz;

import com.code_intelligence.jazzer.junit.FuzzTest;
import dev.patchcord.control.SetRequest;
import dev.patchcord.control.UapiException;
import dev.patchcord.control.UapiProtocol;

import java.util.HexFormat;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The body of a {@code set=1} request on the configuration socket ({@code wg set}, {@code wg
 * syncconf}). The socket is root's, but a request is still input from another program. Contract: a
 * {@link SetRequest} or a {@link UapiException} with a real errno and a printable message; and a
 * parsed request, written out again as {@code wg} would send it, parses to an equal request.
 */
class UapiFuzzTest {

    @FuzzTest
    void parseSet(byte[] body) {
        String text = Contract.utf8(body);
        SetRequest r = Contract.parseOrRefuse(UapiException.class, () -> UapiProtocol.parseSet(text));
        if (r == null) {
            try {
                UapiProtocol.parseSet(text);
            } catch (UapiException e) {
                assertThat(e.errno()).isIn(UapiException.EINVAL, UapiException.EPROTO, UapiException.EMSGSIZE,
                        UapiException.ENOENT);
                return;
            }
            throw new AssertionError("the same body parsed on the second try");
        }
        String again = format(r);
        SetRequest back = Contract.parseOrRefuse(UapiException.class, () -> UapiProtocol.parseSet(again));
        assertThat(back).as("re-parsing %s", again).isEqualTo(r);
    }

    /** The request as set lines, in the order wg writes them. */
    static String format(SetRequest r) {
        HexFormat hex = HexFormat.of();
        StringBuilder sb = new StringBuilder();
        r.privateKey().ifPresent(k -> sb.append("private_key=").append(hex.formatHex(k)).append('\n'));
        r.listenPort().ifPresent(p -> sb.append("listen_port=").append(p).append('\n'));
        r.fwmark().ifPresent(m -> sb.append("fwmark=").append(Integer.toUnsignedString(m)).append('\n'));
        if (r.replacePeers()) {
            sb.append("replace_peers=true\n");
        }
        for (SetRequest.PeerChange p : r.peers()) {
            sb.append("public_key=").append(hex.formatHex(p.publicKey())).append('\n');
            if (p.remove()) {
                sb.append("remove=true\n");
            }
            if (p.updateOnly()) {
                sb.append("update_only=true\n");
            }
            p.presharedKey().ifPresent(k -> sb.append("preshared_key=").append(hex.formatHex(k)).append('\n'));
            p.endpoint().ifPresent(e -> sb.append("endpoint=").append(UapiProtocol.formatEndpoint(e)).append('\n'));
            p.persistentKeepalive().ifPresent(s -> sb.append("persistent_keepalive_interval=").append(s).append('\n'));
            if (p.replaceAllowedIps()) {
                sb.append("replace_allowed_ips=true\n");
            }
            for (SetRequest.AllowedIpChange a : p.allowedIps()) {
                sb.append("allowed_ip=").append(a).append('\n');
            }
        }
        return sb.append('\n').toString();
    }
}
