"""Converters from other projects' price data into a costaudit `PriceTable`.

Each converter is a pure function over the source's documented data shape, so tests feed it small
checked-in excerpts and the CLI feeds it the real file or installed package.
"""
