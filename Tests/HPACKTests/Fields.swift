import HPACK

/// `HeaderField`s from (name, value) pairs.
func fields(_ pairs: KeyValuePairs<String, String>) -> [HeaderField] {
    pairs.map { HeaderField(name: $0.key, value: $0.value) }
}

/// The bytes of ASCII text.
func ascii(_ text: String) -> [UInt8] { Array(text.utf8) }
