// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

/// @title ERC-8004 Identity Registry (Strata)
/// @notice Written from the ERC-8004 "Trustless Agents" specification: an ERC-721 registry where each
/// token is an agent (agentId = tokenId) whose URI points at its registration file. Function names and
/// events follow the spec so ERC-8004 clients work against it unchanged. Self-contained on purpose:
/// Strata compiles it offline with the npm `solc` package, with no OpenZeppelin tree to vendor.
/// Not upgradeable: an in-process registry is redeployed, not migrated.
contract IdentityRegistry {
    struct MetadataEntry {
        string metadataKey;
        bytes metadataValue;
    }

    // --- ERC-721 events -------------------------------------------------------------------------
    event Transfer(address indexed from, address indexed to, uint256 indexed tokenId);
    event Approval(address indexed owner, address indexed approved, uint256 indexed tokenId);
    event ApprovalForAll(address indexed owner, address indexed operator, bool approved);
    /// ERC-4906: tells indexers to refetch a token's metadata after its URI changed.
    event MetadataUpdate(uint256 _tokenId);

    // --- ERC-8004 events ------------------------------------------------------------------------
    event Registered(uint256 indexed agentId, string agentURI, address indexed owner);
    event URIUpdated(uint256 indexed agentId, string newURI, address indexed updatedBy);
    event MetadataSet(
        uint256 indexed agentId,
        string indexed indexedMetadataKey,
        string metadataKey,
        bytes metadataValue
    );

    // Custom errors, so a caller can tell a refusal's reason from its ABI instead of parsing text.
    error AgentNotFound(uint256 agentId);
    error NotAuthorized(uint256 agentId, address caller);
    error ReservedMetadataKey(string metadataKey);
    error ZeroAddress();
    error DeadlineExpired(uint256 deadline, uint256 timestamp);
    error DeadlineTooFar(uint256 deadline, uint256 maxDeadline);
    error InvalidWalletSignature(address expected);
    error WrongOwner(uint256 agentId, address from);
    error UnsafeRecipient(address to);

    string public constant name = "AgentIdentity";
    string public constant symbol = "AGENT";

    /// The spec caps how far ahead a wallet proof may be dated, so a leaked proof dies quickly.
    uint256 public constant MAX_DEADLINE_DELAY = 5 minutes;
    bytes32 public constant AGENT_WALLET_SET_TYPEHASH =
        keccak256("AgentWalletSet(uint256 agentId,address newWallet,address owner,uint256 deadline)");
    bytes32 private constant DOMAIN_TYPEHASH =
        keccak256("EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)");
    bytes32 private constant DOMAIN_NAME_HASH = keccak256("ERC8004IdentityRegistry");
    bytes32 private constant DOMAIN_VERSION_HASH = keccak256("1");
    /// "agentWallet" is written only by setAgentWallet, after the wallet proved itself.
    bytes32 private constant AGENT_WALLET_KEY_HASH = keccak256("agentWallet");
    bytes4 private constant ERC1271_MAGIC = 0x1626ba7e;
    bytes4 private constant ERC721_RECEIVED = 0x150b7a02;

    uint256 private _lastId;
    mapping(uint256 => address) private _owners;
    mapping(address => uint256) private _balances;
    mapping(uint256 => address) private _tokenApprovals;
    mapping(address => mapping(address => bool)) private _operatorApprovals;
    mapping(uint256 => string) private _tokenURIs;
    mapping(uint256 => mapping(string => bytes)) private _metadata;
    mapping(uint256 => address) private _agentWallets;

    // --- registration ---------------------------------------------------------------------------

    /// Registers an agent with no URI yet (the spec's flow: mint, then write the file that names the id).
    function register() external returns (uint256 agentId) {
        agentId = _register("");
    }

    function register(string calldata agentURI) external returns (uint256 agentId) {
        agentId = _register(agentURI);
    }

    function register(string calldata agentURI, MetadataEntry[] calldata metadata) external returns (uint256 agentId) {
        agentId = _register(agentURI);
        for (uint256 i = 0; i < metadata.length; i++) {
            _setMetadata(agentId, metadata[i].metadataKey, metadata[i].metadataValue);
        }
    }

    function setAgentURI(uint256 agentId, string calldata newURI) external {
        _requireAuthorized(agentId);
        _tokenURIs[agentId] = newURI;
        emit URIUpdated(agentId, newURI, msg.sender);
        emit MetadataUpdate(agentId);
    }

    function tokenURI(uint256 agentId) external view returns (string memory) {
        _requireOwned(agentId);
        return _tokenURIs[agentId];
    }

    // --- metadata -------------------------------------------------------------------------------

    function getMetadata(uint256 agentId, string calldata metadataKey) external view returns (bytes memory) {
        return _metadata[agentId][metadataKey];
    }

    function setMetadata(uint256 agentId, string calldata metadataKey, bytes calldata metadataValue) external {
        _requireAuthorized(agentId);
        _setMetadata(agentId, metadataKey, metadataValue);
    }

    // --- agent wallet ---------------------------------------------------------------------------

    function getAgentWallet(uint256 agentId) external view returns (address) {
        _requireOwned(agentId);
        return _agentWallets[agentId];
    }

    /// Sets the agent's payment wallet. The owner (or an approved operator) sends it; the new wallet
    /// proves control by signing the EIP-712 AgentWalletSet message (ERC-1271 for contract wallets).
    function setAgentWallet(uint256 agentId, address newWallet, uint256 deadline, bytes calldata signature) external {
        if (newWallet == address(0)) revert ZeroAddress();
        if (block.timestamp > deadline) revert DeadlineExpired(deadline, block.timestamp);
        if (deadline > block.timestamp + MAX_DEADLINE_DELAY) {
            revert DeadlineTooFar(deadline, block.timestamp + MAX_DEADLINE_DELAY);
        }
        address owner = _requireAuthorized(agentId);
        bytes32 digest = keccak256(
            abi.encodePacked(
                "\x19\x01",
                _domainSeparator(),
                keccak256(abi.encode(AGENT_WALLET_SET_TYPEHASH, agentId, newWallet, owner, deadline))
            )
        );
        if (!_validSignature(newWallet, digest, signature)) revert InvalidWalletSignature(newWallet);
        _agentWallets[agentId] = newWallet;
        _writeWalletMetadata(agentId, abi.encodePacked(newWallet));
    }

    /// ERC-5267: lets clients read the EIP-712 domain instead of hard-coding it.
    function eip712Domain()
        external
        view
        returns (
            bytes1 fields,
            string memory domainName,
            string memory version,
            uint256 chainId,
            address verifyingContract,
            bytes32 salt,
            uint256[] memory extensions
        )
    {
        return (hex"0f", "ERC8004IdentityRegistry", "1", block.chainid, address(this), bytes32(0), new uint256[](0));
    }

    function getVersion() external pure returns (string memory) {
        return "1.1.0-strata";
    }

    // --- ERC-721 --------------------------------------------------------------------------------

    function supportsInterface(bytes4 interfaceId) external pure returns (bool) {
        return
            interfaceId == 0x01ffc9a7 || // ERC-165
            interfaceId == 0x80ac58cd || // ERC-721
            interfaceId == 0x5b5e139f || // ERC-721 metadata
            interfaceId == 0x49064906; // ERC-4906
    }

    function balanceOf(address owner) external view returns (uint256) {
        if (owner == address(0)) revert ZeroAddress();
        return _balances[owner];
    }

    function ownerOf(uint256 agentId) public view returns (address) {
        return _requireOwned(agentId);
    }

    function approve(address to, uint256 agentId) external {
        address owner = _requireOwned(agentId);
        if (msg.sender != owner && !_operatorApprovals[owner][msg.sender]) revert NotAuthorized(agentId, msg.sender);
        _tokenApprovals[agentId] = to;
        emit Approval(owner, to, agentId);
    }

    function getApproved(uint256 agentId) external view returns (address) {
        _requireOwned(agentId);
        return _tokenApprovals[agentId];
    }

    function setApprovalForAll(address operator, bool approved) external {
        if (operator == address(0)) revert ZeroAddress();
        _operatorApprovals[msg.sender][operator] = approved;
        emit ApprovalForAll(msg.sender, operator, approved);
    }

    function isApprovedForAll(address owner, address operator) external view returns (bool) {
        return _operatorApprovals[owner][operator];
    }

    function transferFrom(address from, address to, uint256 agentId) public {
        if (to == address(0)) revert ZeroAddress();
        address owner = _requireAuthorized(agentId);
        if (owner != from) revert WrongOwner(agentId, from);
        delete _tokenApprovals[agentId];
        _balances[from] -= 1;
        _balances[to] += 1;
        _owners[agentId] = to;
        emit Transfer(from, to, agentId);
        // A verified wallet belongs to the old owner's arrangement; the new owner must prove a new one.
        if (_agentWallets[agentId] != address(0)) {
            delete _agentWallets[agentId];
            _writeWalletMetadata(agentId, "");
        }
    }

    function safeTransferFrom(address from, address to, uint256 agentId) external {
        safeTransferFrom(from, to, agentId, "");
    }

    function safeTransferFrom(address from, address to, uint256 agentId, bytes memory data) public {
        transferFrom(from, to, agentId);
        _checkReceiver(from, to, agentId, data);
    }

    // --- internals ------------------------------------------------------------------------------

    function _register(string memory agentURI) private returns (uint256 agentId) {
        agentId = _lastId++;
        _owners[agentId] = msg.sender;
        _balances[msg.sender] += 1;
        _tokenURIs[agentId] = agentURI;
        // The registrant's own address is the wallet until another one proves itself.
        _agentWallets[agentId] = msg.sender;
        emit Transfer(address(0), msg.sender, agentId);
        emit Registered(agentId, agentURI, msg.sender);
        _checkReceiver(address(0), msg.sender, agentId, "");
    }

    function _setMetadata(uint256 agentId, string calldata metadataKey, bytes calldata metadataValue) private {
        if (keccak256(bytes(metadataKey)) == AGENT_WALLET_KEY_HASH) revert ReservedMetadataKey(metadataKey);
        _metadata[agentId][metadataKey] = metadataValue;
        emit MetadataSet(agentId, metadataKey, metadataKey, metadataValue);
    }

    function _writeWalletMetadata(uint256 agentId, bytes memory value) private {
        _metadata[agentId]["agentWallet"] = value;
        emit MetadataSet(agentId, "agentWallet", "agentWallet", value);
    }

    function _requireOwned(uint256 agentId) private view returns (address owner) {
        owner = _owners[agentId];
        if (owner == address(0)) revert AgentNotFound(agentId);
    }

    /// The owner, an operator for all the owner's agents, or the address approved for this agent.
    function _requireAuthorized(uint256 agentId) private view returns (address owner) {
        owner = _requireOwned(agentId);
        if (
            msg.sender != owner &&
            !_operatorApprovals[owner][msg.sender] &&
            msg.sender != _tokenApprovals[agentId]
        ) revert NotAuthorized(agentId, msg.sender);
    }

    /// Computed per call rather than cached, so a chain-id change (a fork) can never accept old proofs.
    function _domainSeparator() private view returns (bytes32) {
        return keccak256(abi.encode(DOMAIN_TYPEHASH, DOMAIN_NAME_HASH, DOMAIN_VERSION_HASH, block.chainid, address(this)));
    }

    function _validSignature(address signer, bytes32 digest, bytes calldata signature) private view returns (bool) {
        if (signer.code.length > 0) {
            (bool ok, bytes memory ret) = signer.staticcall(
                abi.encodeWithSelector(ERC1271_MAGIC, digest, signature)
            );
            return ok && ret.length >= 32 && abi.decode(ret, (bytes4)) == ERC1271_MAGIC;
        }
        return _recover(digest, signature) == signer;
    }

    /// ecrecover with the checks it lacks: 65 bytes, low-s (no malleable twins), v of 27 or 28.
    function _recover(bytes32 digest, bytes calldata signature) private pure returns (address) {
        if (signature.length != 65) return address(0);
        bytes32 r = bytes32(signature[0:32]);
        bytes32 s = bytes32(signature[32:64]);
        uint8 v = uint8(signature[64]);
        if (uint256(s) > 0x7FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF5D576E7357A4501DDFE92F46681B20A0) return address(0);
        if (v < 27) v += 27;
        if (v != 27 && v != 28) return address(0);
        return ecrecover(digest, v, r, s);
    }

    function _checkReceiver(address from, address to, uint256 agentId, bytes memory data) private {
        if (to.code.length == 0) return;
        (bool ok, bytes memory ret) = to.call(
            abi.encodeWithSelector(ERC721_RECEIVED, msg.sender, from, agentId, data)
        );
        if (!ok || ret.length < 32 || abi.decode(ret, (bytes4)) != ERC721_RECEIVED) revert UnsafeRecipient(to);
    }
}
