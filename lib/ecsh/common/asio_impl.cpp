// Separate compilation of Asio, Asio-SSL and Beast: the only unit that instantiates them.
#include <boost/asio/impl/src.hpp>
#include <boost/asio/ssl/impl/src.hpp>
#include <boost/beast/src.hpp>
