import Testing
@testable import TrellisServer
