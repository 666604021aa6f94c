import HostDevices
import Logging
import Synchronization

/// devlink for the daemon's rescans, which run at every poll tick and link event:
/// one dump at most every `maxAge` (ice answers info requests from its firmware and
/// NVM), and a failed dump keeps the last good answer, logged once, so that a NIC busy
/// with a firmware flash does not empty every `ddpProfiles` pool for a tick. The
/// kernel fails the whole dump when one device's info fails.
final class CachedFirmwareQuery: FirmwareQuery {
    private struct State {
        var devices: [DeviceFirmware]?
        var readAt: ContinuousClock.Instant?
        var lastError: String?
    }

    private let source: any FirmwareQuery
    private let maxAge: Duration
    private let logger: Logger
    private let state = Mutex(State())

    init(source: any FirmwareQuery, maxAge: Duration = .seconds(30), logger: Logger) {
        self.source = source
        self.maxAge = maxAge
        self.logger = logger
    }

    func devices() throws -> [DeviceFirmware] {
        try state.withLock { state throws -> [DeviceFirmware] in
            let now = ContinuousClock.now
            if let devices = state.devices, let readAt = state.readAt, now - readAt < maxAge { return devices }
            do {
                let devices = try source.devices()
                if state.lastError != nil { logger.info("devlink device info readable again") }
                state = State(devices: devices, readAt: now, lastError: nil)
                return devices
            } catch {
                let reason = "\(error)"
                guard let devices = state.devices else {
                    if state.lastError != reason { logger.warning("devlink device info unreadable, so no DDP profiles: \(reason)") }
                    state.lastError = reason
                    throw error
                }
                if state.lastError != reason {
                    logger.warning("devlink device info unreadable, keeping the last reading for ddpProfiles: \(reason)")
                }
                state.lastError = reason
                state.readAt = now
                return devices
            }
        }
    }

    /// The next scan reads devlink again (a config reload).
    func refresh() {
        state.withLock { $0.readAt = nil }
    }
}
