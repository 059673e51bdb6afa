package dev.patchcord.fuzz;

import com.code_intelligence.jazzer.junit.FuzzTest;
import dev.patchcord.control.MeshPeer;
import dev.patchcord.control.PeerList;
import dev.patchcord.control.PeerList.PeerListException;

import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The mesh peer list: a peers file (read strictly) and the list inside a directory's answer (read
 * leniently). Contract: a list of at most {@link PeerList#MAX_PEERS} peers with at most
 * {@link PeerList#MAX_ENDPOINTS} endpoints each, or a {@link PeerListException}; and a list written
 * out with {@link PeerList#toJson} reads back equal, strictly.
 */
class PeerListFuzzTest {

    @FuzzTest
    void strict(byte[] file) {
        check(Contract.utf8(file), true);
    }

    @FuzzTest
    void lenient(byte[] file) {
        check(Contract.utf8(file), false);
    }

    private static void check(String text, boolean strict) {
        List<MeshPeer> peers = Contract.parseOrRefuse(PeerListException.class, () -> PeerList.parse(text, strict));
        if (peers == null) {
            return;
        }
        assertThat(peers.size()).isLessThanOrEqualTo(PeerList.MAX_PEERS);
        for (MeshPeer p : peers) {
            assertThat(p.key()).hasSize(32);
            assertThat(p.endpoints().size()).isLessThanOrEqualTo(PeerList.MAX_ENDPOINTS);
        }
        String again = "{\"peers\": " + PeerList.toJson(peers) + "}";
        List<MeshPeer> back = Contract.parseOrRefuse(PeerListException.class, () -> PeerList.parse(again, true));
        assertThat(back).as("re-reading %s", again).isEqualTo(peers);
    }
}
