import KafkaProtocol

extension BrokerCore {
    func apiVersions() -> ApiVersionsResponse {
        ApiVersionsResponse(
            errorCode: KafkaErrorCode.noError.rawValue,
            apiKeys: SupportedApis.ranges.map { key, range in
                ApiVersionsResponse.ApiVersion(apiKey: key.rawValue, minVersion: range.lowerBound, maxVersion: range.upperBound)
            }
        )
    }
}
