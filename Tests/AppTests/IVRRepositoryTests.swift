import CallCenter
import Foundation
import Logging
@testable import MurojaatApp
import PostgresNIO
import Testing

@Suite("The voice menu stored in PostgreSQL", .serialized)
struct IVRRepositoryTests {
    @Test func theStandardTreeIsSeededOnceAndLoadsBackTheSame() async throws {
        try await withMigratedDatabase { database in
            try await withPostgres(database) { client in
                let repository = IVRRepository(client: client, logger: Logger(label: "test"))
                try await repository.seed()
                try await repository.seed() // a second seed adds nothing
                let loaded = try #require(try await repository.load())
                let standard = IVRTree.standard
                #expect(loaded.root == standard.root)
                #expect(Set(loaded.nodes.keys) == Set(standard.nodes.keys))
                for (code, node) in standard.nodes {
                    let other = try #require(loaded.nodes[code])
                    #expect(other.parent == node.parent, "\(code)")
                    #expect(other.prompts == node.prompts, "\(code)")
                    #expect(other.actions == node.actions, "\(code)")
                }
                var count = 0
                for try await value in try await client.query("SELECT count(*) FROM prompts").decode(Int.self) { count = value }
                #expect(count == PromptCatalog.all.count * 2)

                // An edit in the back office survives a later seed and is what the call flow loads.
                try await client.query("""
                    UPDATE ivr_actions SET action = 'queue', topic_code = 'payment', info_prompt = NULL
                    WHERE digit = '8' AND node_id = (SELECT id FROM ivr_nodes WHERE code = 'menu-ru')
                    """)
                try await repository.seed()
                let edited = try #require(try await repository.load())
                #expect(edited.nodes["menu-ru"]?.actions["8"] == .queue(skill: nil, topic: "payment"))
                #expect(edited.nodes["menu-uz"]?.actions["8"] == .info(prompt: "info-general"))
            }
        }
    }
}
