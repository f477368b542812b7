/**
 * The functions tenant SQL may call: an allow-list, so a function added to the engine tomorrow is
 * refused until someone reads what it does and adds it here. Every name is a pure function of its
 * arguments (and of the clock): none reads a file, the network, a dictionary, a table, a setting or
 * the server's identity, none sleeps, none throws on purpose (throwIf). Matching ignores case; the
 * name sent to the engine is the spelling written here.
 */
const SCALAR = `
plus minus multiply divide intDiv intDivOrZero modulo moduloOrZero positiveModulo negate abs gcd lcm
equals notEquals less greater lessOrEquals greaterOrEquals and or not xor isNull isNotNull isNaN
isFinite isInfinite ifNull nullIf coalesce assumeNotNull toNullable if multiIf caseWithExpression
exp exp2 exp10 log ln log2 log10 log1p sqrt cbrt pow power sin cos tan asin acos atan atan2 sinh cosh
tanh hypot sign pi e erf erfc lgamma tgamma degrees radians
round roundBankers floor ceil ceiling trunc truncate roundToExp2 roundDuration roundAge roundDown
greatest least min2 max2 bitAnd bitOr bitXor bitNot bitShiftLeft bitShiftRight bitCount bitTest
toInt8 toInt16 toInt32 toInt64 toInt128 toInt256 toUInt8 toUInt16 toUInt32 toUInt64 toUInt128
toUInt256 toFloat32 toFloat64 toDecimal32 toDecimal64 toDecimal128 toString toFixedString toDate
toDate32 toDateTime toDateTime64 toBool toUUID toIPv4 toIPv6
toInt8OrZero toInt16OrZero toInt32OrZero toInt64OrZero toUInt8OrZero toUInt16OrZero toUInt32OrZero
toUInt64OrZero toFloat32OrZero toFloat64OrZero toDateOrZero toDateTimeOrZero toDateTime64OrZero
toInt8OrNull toInt16OrNull toInt32OrNull toInt64OrNull toUInt8OrNull toUInt16OrNull toUInt32OrNull
toUInt64OrNull toFloat32OrNull toFloat64OrNull toDateOrNull toDateTimeOrNull toDateTime64OrNull
toDecimal64OrNull toDecimal64OrZero reinterpretAsString toTypeName toColumnTypeName CAST
accurateCast accurateCastOrNull accurateCastOrDefault toLowCardinality toStringCutToZero
parseDateTimeBestEffort parseDateTimeBestEffortOrNull parseDateTimeBestEffortOrZero
parseDateTime64BestEffort parseDateTime64BestEffortOrNull parseDateTime parseDateTimeOrNull
now now64 today yesterday toTimeZone timeZoneOf toYear toQuarter toMonth toDayOfYear toDayOfMonth
toDayOfWeek toHour toMinute toSecond toMillisecond toUnixTimestamp toUnixTimestamp64Milli
toUnixTimestamp64Micro toUnixTimestamp64Nano fromUnixTimestamp fromUnixTimestamp64Milli
fromUnixTimestamp64Micro fromUnixTimestamp64Nano toStartOfYear toStartOfQuarter toStartOfMonth
toStartOfWeek toMonday toStartOfDay toStartOfHour toStartOfMinute toStartOfSecond
toStartOfFiveMinutes toStartOfTenMinutes toStartOfFifteenMinutes toStartOfInterval
toStartOfMillisecond toStartOfMicrosecond toTime toRelativeYearNum toRelativeMonthNum
toRelativeWeekNum toRelativeDayNum toRelativeHourNum toRelativeMinuteNum toRelativeSecondNum
toISOYear toISOWeek toWeek toYearWeek toYYYYMM toYYYYMMDD toYYYYMMDDhhmmss dateDiff date_diff age
dateAdd dateSub date_add date_sub addSeconds addMinutes addHours addDays addWeeks addMonths
addQuarters addYears addMilliseconds addMicroseconds subtractSeconds subtractMinutes subtractHours
subtractDays subtractWeeks subtractMonths subtractQuarters subtractYears dateTrunc date_trunc
formatDateTime formatDateTimeInJodaSyntax timeSlot timeSlots makeDate makeDateTime makeDateTime64
toIntervalNanosecond toIntervalMicrosecond toIntervalMillisecond toIntervalSecond toIntervalMinute
toIntervalHour toIntervalDay toIntervalWeek toIntervalMonth toIntervalQuarter toIntervalYear
length empty notEmpty lengthUTF8 char_length lower upper lowerUTF8 upperUTF8 reverse reverseUTF8
concat concatWithSeparator substring substr mid substringUTF8 left right leftUTF8 rightUTF8
leftPad rightPad leftPadUTF8 rightPadUTF8 trim trimLeft trimRight trimBoth ltrim rtrim repeat space
startsWith endsWith position positionCaseInsensitive positionUTF8 locate like notLike ilike notILike
match multiMatchAny multiSearchAny extract extractAll extractGroups replaceOne replaceAll replace
replaceRegexpOne replaceRegexpAll regexpQuoteMeta splitByChar splitByString splitByRegexp
splitByWhitespace splitByNonAlpha arrayStringConcat format formatReadableSize
formatReadableQuantity formatReadableTimeDelta formatReadableDecimalSize toValidUTF8 base64Encode
base64Decode tryBase64Decode hex unhex bin unbin lowerUTF8 countSubstrings countMatches
normalizeUTF8NFC initcap ascii
array arrayConcat arrayElement has hasAll hasAny hasSubstr indexOf countEqual arrayEnumerate
arrayEnumerateUniq arrayPopBack arrayPopFront arrayPushBack arrayPushFront arrayResize arraySlice
arraySort arrayReverseSort arrayReverse arrayUniq arrayDistinct arrayJoin arrayMap arrayFilter
arrayExists arrayAll arrayFirst arrayLast arrayFirstIndex arrayLastIndex arrayMin arrayMax arraySum
arrayAvg arrayCount arrayCumSum arrayDifference arrayCompact arrayZip arrayFlatten arrayIntersect
arrayProduct arraySplit arrayFill arrayReverseFill emptyArrayString range
tuple tupleElement untuple map mapKeys mapValues mapContains
JSONHas JSONLength JSONType JSONExtract JSONExtractString JSONExtractInt JSONExtractUInt
JSONExtractFloat JSONExtractBool JSONExtractRaw JSONExtractKeys JSONExtractKeysAndValues
JSONExtractArrayRaw isValidJSON simpleJSONExtractString simpleJSONExtractFloat simpleJSONExtractInt
simpleJSONExtractUInt simpleJSONExtractRaw simpleJSONHas
cityHash64 sipHash64 xxHash64 xxHash32 murmurHash3_64 farmHash64 MD5 SHA1 SHA256 crc32
generateUUIDv4 rand rand64 randCanonical
exists materialize identity ignore isConstant bar transform
widthBucket
`

/** Aggregate and window functions; an aggregate also takes the combinators below. */
const AGGREGATE = `
count sum avg min max any anyLast anyHeavy argMin argMax uniq uniqExact uniqCombined uniqHLL12
quantile quantiles quantileExact quantilesExact quantileTDigest quantilesTDigest quantileTiming
quantileDeterministic median medianExact stddevPop stddevSamp varPop varSamp covarPop covarSamp corr
groupArray groupUniqArray groupArraySample topK topKWeighted sumWithOverflow avgWeighted
simpleLinearRegression first_value last_value nth_value any_value countDistinct sumKahan
groupBitAnd groupBitOr groupBitXor histogram deltaSum deltaSumTimestamp rankCorr entropy
skewPop skewSamp kurtPop kurtSamp boundingRatio groupConcat singleValueOrNull
row_number rank dense_rank percent_rank cume_dist ntile lagInFrame leadInFrame
`

/** Combinators that change how an aggregate consumes its rows, never what it may read. */
const COMBINATORS = ['If', 'Array', 'Distinct', 'OrNull', 'OrDefault', 'ForEach']

function table(words: string): Map<string, string> {
  return new Map(
    words
      .split(/\s+/)
      .filter((w) => w !== '')
      .map((w) => [w.toLowerCase(), w]),
  )
}

const SCALARS = table(SCALAR)
const AGGREGATES = table(AGGREGATE)

export interface AllowedFunction {
  /** The name as the engine is sent it. */
  name: string
  aggregate: boolean
}

/** The allowed function of that name (any case), or undefined. */
export function allowedFunction(name: string): AllowedFunction | undefined {
  const lower = name.toLowerCase()
  const scalar = SCALARS.get(lower)
  if (scalar !== undefined) return { name: scalar, aggregate: false }
  let base = name
  const suffixes: string[] = []
  for (let guard = 0; guard < 4; guard++) {
    const agg = AGGREGATES.get(base.toLowerCase())
    if (agg !== undefined) return { name: agg + suffixes.join(''), aggregate: true }
    const c = COMBINATORS.find((s) => base.length > s.length && base.toLowerCase().endsWith(s.toLowerCase()))
    if (c === undefined) return undefined
    suffixes.unshift(c)
    base = base.slice(0, -c.length)
  }
  return undefined
}
